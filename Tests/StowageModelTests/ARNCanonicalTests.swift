import StowageModel
import Testing

/// Issue 23 item 5: the one canonicalization step every door runs before authorization.
@Suite struct ARNCanonicalTests {
    let scope = ARNScope(partition: "aws", region: "us-east-1")
    let me = "111122223333"

    @Test(arguments: [
        ("arn:aws:ecs:us-east-1:111122223333:cluster/prod", nil),
        ("arn:aws:ssm:us-east-1:111122223333:parameter/prod/db", nil),
        ("arn:aws:iam::111122223333:role/app", nil),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", nil),
        ("arn:aws:sts::111122223333:assumed-role/app/s", nil),
        ("*", nil),
        ("prod", nil),
        ("arn:aws:ssm:us-east-1:aws:parameter/prod/db", "names account 'aws'"),
        ("arn:aws:ecs:us-east-1::cluster/prod", "names no account"),
        ("arn:aws:ecs:us-east-1:444455556666:cluster/prod", "names account '444455556666'"),
        ("arn:aws:ecs:us-west-2:111122223333:cluster/prod", "region 'us-west-2'"),
        ("arn:aws:ecs::111122223333:cluster/prod", "names no region"),
        ("arn:aws-cn:ecs:us-east-1:111122223333:cluster/prod", "partition 'aws-cn'"),
        ("arn:aws:iam:us-east-1:111122223333:role/app", "iam ARNs name no region"),
        ("arn:aws:iam::aws:role/app", "names account 'aws'"),
        ("arn:aws:ecs", "not a well-formed ARN"),
    ] as [(String, String?)])
    func resourcesAreCanonicalOrRefusedWithWhy(_ resource: String, _ why: String?) {
        let refusal = scope.refusal(ofResource: resource, account: me)
        if let why {
            #expect(refusal?.contains(why) == true, "\(resource): \(refusal ?? "accepted")")
        } else {
            #expect(refusal == nil, "\(resource): \(refusal ?? "")")
        }
    }
}
