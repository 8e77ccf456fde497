import StowageModel
import StowageScheduler
import Testing

@Suite struct ClusterQueryTests {
    let small = InstanceFacts(attributes: ["ecs.instance-type": "t2.small", "zone": "a", "stack": "blue"],
                              ec2InstanceId: "i-1", runningTasksCount: 3, taskGroups: ["service:web"])
    let large = InstanceFacts(attributes: ["ecs.instance-type": "m5.large", "zone": "c"], ec2InstanceId: "i-2")

    func check(_ expression: String, small expectSmall: Bool, large expectLarge: Bool) throws {
        let query = try ClusterQuery.parse(expression)
        #expect(query.matches(small) == expectSmall, "\(expression) on small")
        #expect(query.matches(large) == expectLarge, "\(expression) on large")
    }

    @Test func operators() throws {
        try check("attribute:ecs.instance-type == t2.small", small: true, large: false)
        try check("attribute:ecs.instance-type != t2.small", small: false, large: true)
        try check("attribute:zone in [a, b]", small: true, large: false)
        try check("attribute:zone not in [a, b]", small: false, large: true)
        try check("attribute:stack exists", small: true, large: false)
        try check("not(attribute:stack exists)", small: false, large: true)
        try check("attribute:ecs.instance-type =~ t2.*", small: true, large: false)
        try check("attribute:ecs.instance-type !~ t2.*", small: false, large: true)
        try check("attribute:zone == a and attribute:stack == blue", small: true, large: false)
        try check("attribute:zone == c or attribute:stack == blue", small: true, large: true)
        try check("(attribute:zone == a or attribute:zone == c) and not(attribute:stack == blue)", small: false, large: true)
        try check("runningTasksCount > 2", small: true, large: false)
        try check("runningTasksCount <= 0", small: false, large: true)
        try check("ec2InstanceId == 'i-2'", small: false, large: true)
        try check("task:group == service:web", small: true, large: false)
        try check("attribute:ecs.instance-type == \"t2.small\"", small: true, large: false)
    }

    @Test(arguments: [
        "", "attribute:zone", "attribute:zone ==", "attribute:zone in [a, b", "not attribute:zone == a",
        "attribute:zone == a and", "(attribute:zone == a", "color == red", "attribute: == a", "attribute:zone ~ a",
        "attribute:zone == 'a",
    ])
    func badExpressionsAreInvalidParameters(_ expression: String) {
        do {
            _ = try ClusterQuery.parse(expression)
            Issue.record("'\(expression)' parsed")
        } catch {
            #expect(error.code == "InvalidParameterException")
            #expect(error.message.contains("Invalid constraint expression"))
        }
    }

    @Test func constraintAndStrategyValidation() throws {
        let rules = try ConstraintRules.parse([PlacementConstraint(type: "distinctInstance"),
                                               PlacementConstraint(type: "memberOf", expression: "attribute:zone == a")])
        #expect(rules.distinctInstance && rules.memberOf.count == 1)
        #expect(throws: APIError.self) { try ConstraintRules.parse([PlacementConstraint(type: "memberOf")]) }
        #expect(throws: APIError.self) { try ConstraintRules.parse([PlacementConstraint(type: "sameZone")]) }
        #expect(try StrategyRule.parse([PlacementStrategy(type: "spread", field: "attribute:zone"),
                                        PlacementStrategy(type: "binpack", field: "memory"),
                                        PlacementStrategy(type: "random")])
            == [.spreadAttribute("zone"), .binpackMemory, .random])
        #expect(throws: APIError.self) { try StrategyRule.parse([PlacementStrategy(type: "binpack", field: "disk")]) }
        #expect(throws: APIError.self) { try StrategyRule.parse([PlacementStrategy(type: "spread")]) }
    }
}
