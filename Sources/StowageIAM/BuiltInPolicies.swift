/// AWS-managed policies, in code rather than rows: every account can attach them and nobody can edit them.
public enum BuiltInPolicies {
    public static func arn(_ name: String, partition: String = "aws") -> String { "arn:\(partition):iam::aws:policy/\(name)" }

    /// Name to (description, document).
    public static let all: [String: (description: String, document: String)] = [
        "AdministratorAccess": ("Full access to every action and resource of the account.", """
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            """),
        "ReadOnlyAccess": ("Describe, list and get everything; change nothing.", """
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
              "Action": ["ecs:Describe*", "ecs:List*", "logs:Describe*", "logs:Get*", "logs:FilterLogEvents", "logs:StartLiveTail",
                         "cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*", "application-autoscaling:Describe*",
                         "iam:Get*", "iam:List*", "audit:LookupEvents", "ssm:Describe*", "ssm:GetParameterHistory",
                         "ssm:ListTagsForResource", "secretsmanager:Describe*", "secretsmanager:List*",
                         "elasticloadbalancing:Describe*"],
              "Resource": "*"}]}
            """),
        // The cluster-wide key registers new hosts; it may not deregister one (a host pushed out could have its EC2 id
        // and its tasks taken): each instance deregisters itself with its own credential (InstancePolicy).
        // An agent registers, polls, reports and ships telemetry for the one cluster its principal is tagged with
        // (tag stowage:cluster on the role or user), fetches credentials and secrets for the tasks placed on it, and
        // reads its account's Cloud Map names for the resolver its containers use (the discovery feed).
        "StowageAgentPolicy": ("What a host agent needs for the cluster named by its stowage:cluster tag.", """
            {"Version": "2012-10-17", "Statement": [
              {"Sid": "RegisterInCluster", "Effect": "Allow", "Action": "ecs:RegisterContainerInstance",
               "Resource": "arn:*:ecs:*:*:cluster/${aws:PrincipalTag/stowage:cluster}"},
              {"Sid": "ActAsInstance", "Effect": "Allow",
               "Action": ["ecs:Poll", "ecs:SubmitTaskStateChange", "ecs:GetTaskCredentials", "ecs:GetTaskSecrets"],
               "Resource": "arn:*:ecs:*:*:container-instance/${aws:PrincipalTag/stowage:cluster}/*"},
              {"Sid": "AnswerServiceNames", "Effect": "Allow", "Action": "servicediscovery:DiscoverInstances", "Resource": "*"}]}
            """),
    ]
}
