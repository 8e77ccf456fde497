import Testing
@testable import StowageModel
@testable import StowageMonitoringRules

@Suite struct ScheduleTests {
    func epoch(_ text: String) -> Int64 { (UTCTime.parseRFC3339(text) ?? 0) / 1_000_000_000 }

    @Test func rateFiresOnItsGrid() throws {
        let s = try ScheduleExpression.parse("rate(5 minutes)")
        #expect(s.next(after: 1000, anchor: 1000) == 1300)
        #expect(s.next(after: 1299, anchor: 1000) == 1300)
        #expect(s.next(after: 1300, anchor: 1000) == 1600)
        #expect(try ScheduleExpression.parse("rate(1 hour)") == .rate(seconds: 3600))
    }

    @Test func cronMatchesAWSFields() throws {
        // Weekdays at 08:30 UTC; 2026-11-21 is a Saturday.
        let weekdays = try ScheduleExpression.parse("cron(30 8 ? * MON-FRI *)")
        #expect(weekdays.next(after: epoch("2026-11-21T09:00:00Z"), anchor: 0) == epoch("2026-11-23T08:30:00Z"))
        let everyQuarter = try ScheduleExpression.parse("cron(0/15 * * * ? *)")
        #expect(everyQuarter.next(after: epoch("2026-11-21T10:07:12Z"), anchor: 0) == epoch("2026-11-21T10:15:00Z"))
        let firstOfMonth = try ScheduleExpression.parse("cron(0 0 1 * ? *)")
        #expect(firstOfMonth.next(after: epoch("2026-12-01T00:00:00Z"), anchor: 0) == epoch("2027-01-01T00:00:00Z"))
        let sunday = try ScheduleExpression.parse("cron(0 12 ? * 1 2027)")
        #expect(sunday.next(after: epoch("2026-11-21T00:00:00Z"), anchor: 0) == epoch("2027-01-03T12:00:00Z"))
        let at = try ScheduleExpression.parse("at(2026-12-24T18:00:00)")
        #expect(at.next(after: epoch("2026-11-21T00:00:00Z"), anchor: 0) == epoch("2026-12-24T18:00:00Z"))
        #expect(at.next(after: epoch("2026-12-25T00:00:00Z"), anchor: 0) == nil)
    }

    @Test(arguments: ["rate(0 minutes)", "rate(5 minute)", "rate(1 minutes)", "rate(5 weeks)", "cron(* * * * *)",
                      "cron(61 * * * ? *)", "cron(0 0 1 * MON *)", "cron(0 0 ? FOO * *)", "every 5 minutes", "at(tomorrow)"])
    func badExpressionsAreRefused(text: String) {
        #expect(throws: ScheduleError.self) { _ = try ScheduleExpression.parse(text) }
    }
}

@Suite struct AlarmRuleTests {
    let rule = AlarmRule(threshold: 50, comparison: .greaterThanThreshold, evaluationPeriods: 3, datapointsToAlarm: 2,
                         treatMissingData: .missing)

    @Test func mOutOfNBreachesAlarm() {
        #expect(rule.evaluate([60, 10, 70], current: .ok).state == .alarm)
        #expect(rule.evaluate([60, 10, 20], current: .alarm).state == .ok)
        #expect(rule.evaluate([10, 10, 20, 99, 98], current: .ok).state == .alarm)  // only the last three count
        #expect(rule.evaluate([60, 10, 70], current: .ok).reason.contains("2 out of the last 3 datapoints"))
    }

    @Test func missingDataFollowsTheTreatment() {
        #expect(rule.evaluate([nil, nil, nil], current: .ok).state == .insufficientData)
        var r = rule
        r.treatMissingData = .breaching
        #expect(r.evaluate([nil, nil, 10], current: .ok).state == .alarm)
        r.treatMissingData = .notBreaching
        #expect(r.evaluate([nil, 60, nil], current: .alarm).state == .ok)
        r.treatMissingData = .ignore
        #expect(r.evaluate([nil, nil, nil], current: .alarm).state == .alarm)
        #expect(r.evaluate([nil, 60, 70], current: .ok).state == .alarm)
    }

    @Test(arguments: ComparisonOperator.allCases)
    func comparisonsAtTheThreshold(op: ComparisonOperator) {
        let inclusive = op == .greaterThanOrEqualToThreshold || op == .lessThanOrEqualToThreshold
        #expect(op.breaches(50, 50) == inclusive)
    }
}

@Suite struct ScalingRuleTests {
    let policy = TargetTracking(target: 50, minCapacity: 1, maxCapacity: 10, scaleOutCooldown: 60, scaleInCooldown: 120,
                                scaleOutDatapoints: 2, scaleInDatapoints: 3)

    @Test func scalesOutInProportion() {
        let d = policy.decide(current: 2, recent: [90, 100], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil)
        #expect(d?.capacity == 4)  // ceil(2 * 95 / 50)
        #expect(d?.cause.contains("above the target 50") == true)
        #expect(policy.decide(current: 8, recent: [400, 400], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil)?.capacity == 10)
        #expect(policy.decide(current: 2, recent: [90, 40], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil) == nil)
        #expect(policy.decide(current: 2, recent: [90, 100], metricName: "CPU", sinceScaleOut: 30, sinceScaleIn: nil) == nil)
    }

    @Test func scalesInOnlyBelowNinetyPercentForTheWholeWindow() {
        #expect(policy.decide(current: 4, recent: [10, 12, 8], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil)?.capacity == 1)
        #expect(policy.decide(current: 4, recent: [10, 46, 8], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil) == nil)
        #expect(policy.decide(current: 4, recent: [10, nil, 8], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil) == nil)
        #expect(policy.decide(current: 4, recent: [10, 10, 10], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: 60) == nil)
        var noIn = policy
        noIn.disableScaleIn = true
        #expect(noIn.decide(current: 4, recent: [10, 10, 10], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil) == nil)
    }

    @Test func boundsWinOverTheMetric() {
        #expect(policy.decide(current: 0, recent: [], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil)?.capacity == 1)
        #expect(policy.decide(current: 12, recent: [], metricName: "CPU", sinceScaleOut: nil, sinceScaleIn: nil)?.capacity == 10)
    }

    @Test func stepScalingPicksTheStepTheBreachFallsIn() throws {
        let steps = StepScaling(adjustmentType: .changeInCapacity, steps: [
            StepAdjustment(lower: 0, upper: 20, adjustment: 1), StepAdjustment(lower: 20, upper: nil, adjustment: 3),
        ])
        try steps.validate()
        #expect(steps.apply(current: 2, breach: 5, minCapacity: 1, maxCapacity: 10) == 3)
        #expect(steps.apply(current: 2, breach: 25, minCapacity: 1, maxCapacity: 10) == 5)
        #expect(steps.apply(current: 9, breach: 25, minCapacity: 1, maxCapacity: 10) == 10)
        #expect(steps.apply(current: 2, breach: -1, minCapacity: 1, maxCapacity: 10) == nil)
        let percent = StepScaling(adjustmentType: .percentChangeInCapacity, steps: [StepAdjustment(lower: nil, upper: 0, adjustment: -50)],
                                  minAdjustmentMagnitude: 2)
        #expect(percent.apply(current: 3, breach: -5, minCapacity: 0, maxCapacity: 10) == 1)
        let gap = StepScaling(adjustmentType: .changeInCapacity, steps: [
            StepAdjustment(lower: 0, upper: 10, adjustment: 1), StepAdjustment(lower: 20, upper: nil, adjustment: 2),
        ])
        #expect(throws: ScheduleError.self) { try gap.validate() }
    }
}
