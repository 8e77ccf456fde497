import Testing
@testable import StowageMonitoringRules

@Suite struct MetricMathTests {
    let m1: TimeSeries = [0: 10, 60: 20, 120: 30]
    let m2: TimeSeries = [0: 1, 60: 2, 180: 4]

    func eval(_ text: String) throws -> MetricMathValue {
        try MetricMath.evaluate(try MetricMath.parse(text), ["m1": m1, "m2": m2], all: [m1, m2])
    }

    @Test func arithmeticAlignsOnTimestampsWithPrecedence() throws {
        #expect(try eval("m1 + m2 * 2") == .series([0: 12, 60: 24]))
        #expect(try eval("(m1 + m2) * 2") == .series([0: 22, 60: 44]))
        #expect(try eval("m1 / 10 - 1") == .series([0: 0, 60: 1, 120: 2]))
        #expect(try eval("-m2") == .series([0: -1, 60: -2, 180: -4]))
        #expect(try eval("100 * m2 / m1") == .series([0: 10, 60: 10]))
    }

    @Test func divisionByZeroDropsThePoint() throws {
        #expect(try eval("m1 / (m2 - 1)") == .series([60: 20]))
    }

    @Test func aggregatesAcrossAnArrayPerTimestamp() throws {
        #expect(try eval("SUM([m1, m2])") == .series([0: 11, 60: 22, 120: 30, 180: 4]))
        #expect(try eval("AVG([m1, m2])") == .series([0: 5.5, 60: 11, 120: 30, 180: 4]))
        #expect(try eval("MIN(METRICS())") == .series([0: 1, 60: 2, 120: 30, 180: 4]))
        #expect(try eval("MAX([m1, m2 * 100])") == .series([0: 100, 60: 200, 120: 30, 180: 400]))
    }

    @Test func aggregateOfOneSeriesIsAScalar() throws {
        #expect(try eval("SUM(m1)") == .scalar(60))
        #expect(try eval("m1 - AVG(m1)") == .series([0: -10, 60: 0, 120: 10]))
    }

    @Test(arguments: ["m1 +", "SUM(m1", "m1 ** 2", "FOO(m1)", "M1 + 1", "[m1, m2] + [m1]", "(m1", "m1 m2", "[]"])
    func malformedExpressionsSayWhy(text: String) {
        #expect(throws: MetricMathError.self) { _ = try eval(text) }
    }

    @Test func unknownIdsAndReferencesAreReported() throws {
        #expect(try MetricMath.parse("m1 + SUM([m2, x3])").references == ["m1", "m2", "x3"])
        #expect(throws: MetricMathError("Unknown query id x3 in the expression.")) { _ = try eval("m1 + x3") }
    }
}
