/// `*` (any run) and `?` (any one) patterns, as IAM policies, ELB rule conditions, Logs JSON filters and cluster
/// queries write them: one matcher for all. The pattern and the text are both a tenant's, so it runs as a bit-parallel
/// NFA (state i: the first i non-`*` tokens matched) in text length × ⌈tokens / 64⌉ word operations, where the
/// backtracking loop it replaces took text length × pattern length.
public enum Wildcard {
    /// Whether `pattern` matches all of `text`, compared element by element (characters, or scalars when the caller
    /// passes `unicodeScalars`). With `questionMark` false a `?` is an ordinary character.
    public static func matches<S: Sequence>(_ pattern: S, _ text: S, questionMark: Bool = true) -> Bool
    where S.Element: Hashable & ExpressibleByUnicodeScalarLiteral {
        let star: S.Element = "*", any: S.Element = "?"
        var tokens: [S.Element?] = []  // nil: any one element
        var loops: [Bool] = [false]  // loops[i]: a `*` between token i and token i + 1
        for e in pattern {
            if e == star { loops[tokens.count] = true; continue }
            tokens.append(questionMark && e == any ? nil : e)
            loops.append(false)
        }
        let words = (tokens.count + 1 + 63) / 64
        var masks: [S.Element: [UInt64]] = [:]
        var anyMask = [UInt64](repeating: 0, count: words), loopMask = anyMask
        for (i, token) in tokens.enumerated() {
            let bit = i + 1
            if let token {
                masks[token, default: [UInt64](repeating: 0, count: words)][bit / 64] |= 1 << UInt64(bit % 64)
            } else {
                anyMask[bit / 64] |= 1 << UInt64(bit % 64)
            }
        }
        for (i, loop) in loops.enumerated() where loop { loopMask[i / 64] |= 1 << UInt64(i % 64) }
        var state = [UInt64](repeating: 0, count: words)
        state[0] = 1
        for e in text {
            let mask = masks[e]
            var carry: UInt64 = 0
            var alive = false
            for w in 0..<words {
                let shifted = state[w] << 1 | carry
                carry = state[w] >> 63
                state[w] = shifted & ((mask?[w] ?? 0) | anyMask[w]) | state[w] & loopMask[w]
                alive = alive || state[w] != 0
            }
            if !alive { return false }
        }
        let final = tokens.count
        return state[final / 64] & (1 << UInt64(final % 64)) != 0
    }

    /// Characters compared as characters, optionally after lowercasing both sides.
    public static func matches(_ pattern: String, _ text: String, questionMark: Bool = true, caseInsensitive: Bool) -> Bool {
        caseInsensitive ? matches(pattern.lowercased(), text.lowercased(), questionMark: questionMark) : matches(pattern, text, questionMark: questionMark)
    }
}
