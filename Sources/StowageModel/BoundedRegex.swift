/// A regular expression a tenant wrote (SSM `AllowedPattern`), run so that no pattern can hold a thread: the
/// pattern compiles to an NFA program of at most `maxInstructions` steps and a Pike VM advances the set of live
/// states over the text once, never backtracking, so a search costs at most instructions × (text length + 1)
/// thread steps. ICU, which NSRegularExpression runs, backtracks: `^(a|a)*$` against thirty `a`s and a `!` took
/// seconds of a cooperative-pool thread. The syntax is Java's as ICU reads it (AWS documents Java regular
/// expressions); what cannot run in linear time, or is not implemented, is refused by name with its column.
public struct BoundedRegex: Sendable {
    /// Counted repetitions expand (`(ab){3}` is three copies), so this also bounds `{n,m}` nesting.
    public static let maxInstructions = 4_000

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// 1-based, in Unicode scalars.
        public var column: Int
        public var description: String { message }
    }

    /// A search's answer and the thread steps it took (each a constant amount of work).
    public struct Search: Sendable, Equatable {
        /// nil when the step budget ran out first.
        public var found: Bool?
        public var steps: Int
    }

    public let pattern: String
    let program: [RegexInstruction]
    let sets: [ScalarSet]
    /// Every match begins at the start of the text, so threads are seeded only there.
    let anchored: Bool
    let usesWordBoundaries: Bool

    public init(_ pattern: String) throws(Refusal) {
        let tree = try RegexParser.parse(pattern)
        guard RegexCompiler.size(tree, limit: Self.maxInstructions) < Self.maxInstructions else {
            throw Refusal(message: "the pattern is too complex: it compiles to more than \(Self.maxInstructions) steps (counted repetitions such as {n,m} expand); simplify it", column: 1)
        }
        var compiler = RegexCompiler()
        compiler.emit(tree)
        compiler.program.append(.match)
        self.pattern = pattern
        program = compiler.program
        sets = compiler.sets
        anchored = if case .assert(.start) = program[0] { true } else { false }
        usesWordBoundaries = program.contains { if case .assert(let a) = $0 { a == .wordBoundary || a == .notWordBoundary } else { false } }
    }

    public var instructionCount: Int { program.count }

    /// Whether the pattern matches somewhere in `text`, as `NSRegularExpression.firstMatch` would find it. Linear is
    /// not yet cheap: 4,000 live states over an 8 KiB value are 32 million steps, so a caller answering a tenant
    /// passes a `budget`, which the search overruns by at most one position's work (`instructionCount` steps).
    public func search(_ text: String, budget: Int = .max) -> Search {
        var vm = RegexMachine(regex: self, text: Array(text.unicodeScalars), budget: budget)
        let found = vm.run()
        return Search(found: found, steps: vm.steps)
    }
}

enum RegexInstruction: Sendable, Equatable {
    case scalar(Unicode.Scalar)
    case set(Int)
    case split(Int, Int)
    case jump(Int)
    case assert(RegexAssertion)
    case match
}

/// Tree to program, Thompson's construction.
struct RegexCompiler {
    var program: [RegexInstruction] = []
    var sets: [ScalarSet] = []
    var setIndex: [ScalarSet: Int] = [:]

    /// The instructions `node` compiles to, saturating just above `limit` so that huge counts cost nothing to judge.
    static func size(_ node: RegexNode, limit: Int) -> Int {
        let over = limit + 1
        func product(_ a: Int, _ b: Int) -> Int { a == 0 || b == 0 ? 0 : (a > over / b ? over : min(over, a * b)) }
        switch node {
        case .empty: return 0
        case .scalar, .set, .assertion: return 1
        case .sequence(let items): return min(over, items.reduce(0) { min(over, $0 + size($1, limit: limit)) })
        case .alternation(let branches):
            return min(over, branches.reduce(2 * (branches.count - 1)) { min(over, $0 + size($1, limit: limit)) })
        case .repetition(let inner, let low, let high):
            let s = size(inner, limit: limit)
            guard let high else { return low == 0 ? min(over, s + 2) : min(over, product(low, s) + 1) }
            return min(over, product(low, s) + product(high - low, s + 1))
        }
    }

    @discardableResult
    mutating func append(_ instruction: RegexInstruction) -> Int {
        program.append(instruction)
        return program.count - 1
    }

    mutating func emit(_ node: RegexNode) {
        switch node {
        case .empty: break
        case .scalar(let s): append(.scalar(s))
        case .set(let set):
            let index = setIndex[set] ?? sets.count
            if index == sets.count { sets.append(set); setIndex[set] = index }
            append(.set(index))
        case .assertion(let a): append(.assert(a))
        case .sequence(let items): for item in items { emit(item) }
        case .alternation(let branches):
            var exits: [Int] = []
            for branch in branches.dropLast() {
                let split = append(.split(0, 0))
                emit(branch)
                exits.append(append(.jump(0)))
                program[split] = .split(split + 1, program.count)
            }
            if let last = branches.last { emit(last) }
            for exit in exits { program[exit] = .jump(program.count) }
        case .repetition(let inner, let low, let high):
            emitRepetition(inner, low: low, high: high)
        }
    }

    mutating func emitRepetition(_ inner: RegexNode, low: Int, high: Int?) {
        guard let high else {
            if low == 0 {
                let loop = append(.split(0, 0))
                emit(inner)
                append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            } else {
                for _ in 0..<(low - 1) { emit(inner) }
                let top = program.count
                emit(inner)
                append(.split(top, program.count + 1))
            }
            return
        }
        for _ in 0..<low { emit(inner) }
        var skips: [Int] = []
        for _ in low..<high {
            skips.append(append(.split(0, 0)))
            emit(inner)
        }
        for skip in skips { program[skip] = .split(skip + 1, program.count) }
    }
}

/// One search: the live threads at this position (each instruction at most once), advanced in step over the text.
struct RegexMachine {
    let program: [RegexInstruction]
    let sets: [ScalarSet]
    let anchored: Bool
    let usesWordBoundaries: Bool
    let text: [Unicode.Scalar]
    let budget: Int
    var steps = 0

    init(regex: BoundedRegex, text: [Unicode.Scalar], budget: Int) {
        program = regex.program
        sets = regex.sets
        anchored = regex.anchored
        usesWordBoundaries = regex.usesWordBoundaries
        self.text = text
        self.budget = budget
    }

    mutating func run() -> Bool? {
        var current = ThreadList(capacity: program.count), next = current
        var stack: [Int] = []
        var wordBefore = false
        for p in 0...text.count {
            if p == 0 || !anchored {
                if add(to: &current, 0, at: p, wordBefore: wordBefore, stack: &stack) { return true }
            }
            if p == text.count || (anchored && current.count == 0) { return false }
            if steps > budget { return nil }
            let c = text[p]
            let wordAfter = usesWordBoundaries ? (ScalarSet.isExtendOrFormat(c) ? wordBefore : ScalarSet.isWord(c)) : false
            next.removeAll()
            for k in 0..<current.count {
                let pc = current.dense[k]
                let consumes = switch program[pc] {
                case .scalar(let s): s == c
                case .set(let index): sets[index].contains(c)
                default: false
                }
                if consumes, add(to: &next, pc + 1, at: p + 1, wordBefore: wordAfter, stack: &stack) { return true }
            }
            swap(&current, &next)
            wordBefore = wordAfter
        }
        return false
    }

    /// Adds `start` and every instruction reachable from it without consuming; true when that reaches the match.
    mutating func add(to list: inout ThreadList, _ start: Int, at p: Int, wordBefore: Bool, stack: inout [Int]) -> Bool {
        stack.append(start)
        while let pc = stack.popLast() {
            guard !list.contains(pc) else { continue }
            list.insert(pc)
            steps += 1
            switch program[pc] {
            case .match: stack.removeAll(); return true
            case .jump(let target): stack.append(target)
            case .split(let a, let b): stack.append(b); stack.append(a)
            case .assert(let assertion): if holds(assertion, at: p, wordBefore: wordBefore) { stack.append(pc + 1) }
            case .scalar, .set: break
            }
        }
        return false
    }

    func holds(_ assertion: RegexAssertion, at p: Int, wordBefore: Bool) -> Bool {
        let n = text.count
        switch assertion {
        case .start: return p == 0
        case .end: return p == n
        case .endOfLine:
            if p == n { return true }
            if p == n - 1 { return ScalarSet.isLineTerminator(text[p]) && !(text[p] == "\n" && p > 0 && text[p - 1] == "\r") }
            return p == n - 2 && text[p] == "\r" && text[p + 1] == "\n"
        case .wordBoundary, .notWordBoundary:
            var boundary = wordBefore
            if p < n { boundary = ScalarSet.isExtendOrFormat(text[p]) ? false : ScalarSet.isWord(text[p]) != wordBefore }
            return boundary == (assertion == .wordBoundary)
        }
    }
}

/// A set of instruction indices with constant-time insert, test and clear (a sparse set).
struct ThreadList {
    var dense: [Int]
    var sparse: [Int]
    var count = 0

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    func contains(_ pc: Int) -> Bool {
        let slot = sparse[pc]
        return slot < count && dense[slot] == pc
    }

    mutating func insert(_ pc: Int) {
        sparse[pc] = count
        dense[count] = pc
        count += 1
    }

    mutating func removeAll() { count = 0 }
}
