import Foundation
import StowageModel
import StowageShell
import Testing

@testable import StowageProxyConfig

/// Configurations rendered from random tenant text, handed to the real HAProxy: it must accept every one, and what
/// it parsed must be exactly the model — the frontends, backends and servers it holds, no more, with every
/// pattern and response body byte for byte. A tenant's `;`, line break, quote, `$`, `#` or backslash never becomes
/// HAProxy syntax.
@Suite(.serialized) struct HAProxyRoundTripTests {
    static let haproxy = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A small deterministic generator, so a failure names a seed that reproduces it.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let hostile: [String] = [";", "\n", "\r", "'", "\"", "$", "${HOME}", "{", "}", "#", "\\", " ", "\t", "é", "日本", "%", "&", "=",
                                    "?", "*", "/", "shutdown sessions server x", "\\x41", "''", "\"${STOWAGE_SERVER_KEY}\"", "|", "(", ")", "[", "]"]

    static func text(_ rng: inout Seeded, max: Int = 24) -> String {
        var out = ""
        for _ in 0..<Int.random(in: 1...max, using: &rng) {
            if Bool.random(using: &rng) {
                out += hostile.randomElement(using: &rng) ?? ""
            } else {
                out += String(Array("abcdefghijklmnopqrstuvwxyz").randomElement(using: &rng) ?? "a")
            }
        }
        return out
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A snapshot of one to three load balancers whose every free-text field is hostile.
    static func snapshot(_ rng: inout Seeded) -> (ProxySnapshot, bodies: [String: String]) {
        var listeners: [ProxySnapshot.Listener] = []
        var groups: [ProxySnapshot.Group] = []
        var bodies: [String: String] = [:]
        for lb in 0..<Int.random(in: 1...3, using: &rng) {
            let group = "g\(lb)"
            var targets: [ProxySnapshot.Target] = []
            for t in 0..<Int.random(in: 0...3, using: &rng) {
                let address = Bool.random(using: &rng) ? "10.0.\(lb).\(t + 1)" : "fd00::\(lb):\(t + 1)"
                targets.append(.init(id: Bool.random(using: &rng) ? address : "i-" + text(&rng, max: 6), port: 8000 + t, address: address,
                                     draining: Bool.random(using: &rng)))
            }
            var health = ELB.HealthCheck()
            health.path = "/" + String(text(&rng).unicodeScalars.filter { ELB.uriCharacters.contains($0) })
            groups.append(.init(id: group, port: 80, health: health, attributes: .init(), targets: targets))
            let body = text(&rng, max: 40)
            bodies["l\(lb)"] = body
            let fixed = ELB.Action(kind: .fixedResponse, fixedResponse: .init(statusCode: "200", contentType: "text/plain", messageBody: body))
            let forward = ELB.Action(kind: .forward, targetGroups: [.init(targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/\(group)",
                                                                           weight: 1)], single: true)
            let conditions: [ELB.Condition] = [
                .init(field: .pathPattern, values: ["/" + text(&rng, max: 8), text(&rng, max: 8)]),
                .init(field: .httpHeader, values: [text(&rng, max: 10)], headerName: "X-Test"),
                .init(field: .queryString, pairs: [.init(key: text(&rng, max: 5), value: text(&rng, max: 5)), .init(key: nil, value: text(&rng, max: 5))]),
            ]
            listeners.append(.init(id: "l\(lb)", loadBalancerId: "lb\(lb)", address: "127.0.0.1", port: freePort(),
                                   rules: [.init(id: "r\(lb)", priority: 1, conditions: [conditions[Int.random(in: 0..<3, using: &rng)]], actions: [forward])],
                                   defaultActions: [fixed]))
        }
        return (ProxySnapshot(listeners: listeners, groups: groups), bodies)
    }

    func run(_ args: [String], directory: URL) throws -> (Int32, String) {
        try Shell.runLogged(args, log: directory.path + "/out.txt", environment: [])
    }

    func ask(_ socketPath: String, _ command: String) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(socketPath.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return "" }
        return String(decoding: exchange(fd, command + "\n"), as: UTF8.self)
    }

    /// Writes a request on a connected socket and reads the answer until the peer closes.
    func exchange(_ fd: Int32, _ request: String) -> [UInt8] {
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    /// The body HAProxy answers a plain HTTP/1.0 GET on the port with.
    func get(port: Int) -> Data? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let out = exchange(fd, "GET /nothing-matches-this HTTP/1.0\r\nHost: x\r\n\r\n")
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, out.count - 3)).first(where: { Array(out[$0..<$0 + 4]) == separator }) else { return nil }
        return Data(out[(end + 4)...])
    }

    @Test func hostileTenantTextRendersToExactlyTheModel() throws {
        let executable = try #require(Self.haproxy, "HAProxy is not installed: make test installs it")
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("stowage-haproxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socketPath = directory.path + "/admin.sock"
        for seed in UInt64(1)...20 {
            var rng = Seeded(state: seed)
            let (s, bodies) = Self.snapshot(&rng)
            let serving = Set(s.groups.flatMap { g in g.targets.map { "\(g.backendName)/\($0.serverName)" } })
            let rendered = HAProxyConfig.render(s, socket: socketPath, serving: serving, policy: .tests)
            #expect(rendered.refused.isEmpty, "seed \(seed): \(rendered.refused)")
            let config = directory.appendingPathComponent("haproxy.cfg")
            try rendered.text.write(to: config, atomically: true, encoding: .utf8)
            let (checked, why) = try run([executable, "-c", "-q", "-f", config.path], directory: directory)
            #expect(checked == 0, "seed \(seed): haproxy -c refused it: \(why)\n\(rendered.text)")
            guard checked == 0 else { continue }
            let pidFile = directory.path + "/haproxy.pid"
            let (started, startWhy) = try run([executable, "-D", "-f", config.path, "-p", pidFile], directory: directory)
            #expect(started == 0, "seed \(seed): \(startWhy)")
            defer {
                if let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                    kill(pid, SIGKILL)
                }
                try? FileManager.default.removeItem(atPath: socketPath)
            }
            var stat = ""
            for _ in 0..<50 where stat.isEmpty {
                stat = ask(socketPath, "show stat")
                if stat.isEmpty { usleep(50_000) }
            }
            // Proxies and servers as HAProxy holds them: (proxy, server-or-FRONTEND/BACKEND).
            var parsed: Set<String> = []
            for line in stat.split(separator: "\n") where !line.hasPrefix("#") {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count > 1 else { continue }
                parsed.insert("\(fields[0])/\(fields[1])")
            }
            var model: Set<String> = []
            for l in s.listeners { model.insert("l_\(l.id)/FRONTEND") }
            for g in s.groups {
                model.insert("\(g.backendName)/BACKEND")
                for t in g.targets { model.insert("\(g.backendName)/\(t.serverName)") }
            }
            #expect(parsed == model, "seed \(seed): HAProxy holds \(parsed.subtracting(model)) beyond the model, misses \(model.subtracting(parsed))")
            // Every servers' address and port as rendered.
            let state = ask(socketPath, "show servers state")
            for g in s.groups {
                for t in g.targets {
                    let address = CIDR.format(CIDR.address(t.address) ?? [])
                    #expect(state.contains(" \(g.backendName) ") && state.contains(" \(t.serverName) "), "seed \(seed)")
                    let line = state.split(separator: "\n").first { $0.contains(" \(t.serverName) ") && $0.contains(" \(g.backendName) ") } ?? ""
                    let words = line.split(separator: " ").map(String.init)
                    #expect(words.count > 18 && CIDR.address(words[4]) == CIDR.address(address) && words[18] == String(t.port),
                            "seed \(seed): \(line)")
                }
            }
            // Every pattern exactly as the model says: `show acl #n` lists what HAProxy parsed.
            let acls = ask(socketPath, "show acl")
            var patterns: [String] = []
            // The rules' own ACLs; the anonymous `var(txn.rule)` ones that order them are not tenant text.
            for line in acls.split(separator: "\n") where line.contains("file '\(config.path)'") && !line.contains("acl 'var'") {
                guard let id = line.split(separator: " ").first else { continue }
                for entry in ask(socketPath, "show acl #\(id)").split(separator: "\n") {
                    if let space = entry.firstIndex(of: " ") { patterns.append(String(entry[entry.index(after: space)...])) }
                }
            }
            var expected: [String] = []
            for l in s.listeners {
                for rule in l.rules {
                    for c in rule.conditions {
                        switch c.field {
                        case .queryString:
                            for p in c.pairs {
                                let key = p.key.map { HAProxyText.wildcardRegex($0, any: "[^&]", anchored: false) } ?? "[^&=]*"
                                expected.append("(^|&)\(key)=\(HAProxyText.wildcardRegex(p.value, any: "[^&]", anchored: false))(&|$)")
                            }
                        default: expected += c.values.map { HAProxyText.wildcardRegex($0) }
                        }
                    }
                }
            }
            for p in expected where !p.contains("\n") && !p.contains("\r") {
                #expect(patterns.contains(p), "seed \(seed): pattern \(p.debugDescription) not parsed back; HAProxy has \(patterns)")
            }
            if !expected.contains(where: { $0.contains("\n") || $0.contains("\r") }) {
                #expect(patterns.sorted() == expected.sorted(), "seed \(seed): HAProxy parsed patterns beyond the model")
            }
            // A fixed response's body comes back byte for byte.
            for l in s.listeners {
                let body = get(port: l.port)
                #expect(body == Data((bodies[l.id] ?? "").utf8), "seed \(seed): body of \(l.id)")
            }
        }
    }
}
