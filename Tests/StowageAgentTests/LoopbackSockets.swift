import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Binds a socket to `host` on a port the kernel picks, and returns that port.
func bindLoopback(_ fd: Int32, host: String) -> UInt16? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    inet_pton(AF_INET, host, &address.sin_addr)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { return nil }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return named == 0 ? UInt16(bigEndian: address.sin_port) : nil
}

/// Plain POSIX sockets on loopback for tests that need a real peer: a UDP socket bound to a chosen 127.x
/// address, and a one-request-per-connection HTTP server. Blocking calls run off the cooperative pool.
final class UDPSocket: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init(host: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        guard let port = bindLoopback(fd, host: host) else { close(fd); throw POSIXError(.EADDRNOTAVAIL) }
        self.fd = fd
        self.port = port
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], to host: String, port: UInt16) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// The next datagram and where it came from, or nil after `timeout` seconds.
    func receive(timeout: Double) async -> (bytes: [UInt8], host: String, port: UInt16)? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.receiveBlocking(timeout: timeout)) }
        }
    }

    func receiveBlocking(timeout: Double) -> (bytes: [UInt8], host: String, port: UInt16)? {
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var from = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &from) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &from.sin_addr, &text, socklen_t(text.count))
        let host = String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (Array(buffer.prefix(count)), host, UInt16(bigEndian: from.sin_port))
    }
}

/// An HTTP server on 127.0.0.1 answering each connection's one request with what `respond` says, and keeping
/// the requests it got (request line and headers) for the test to read.
final class TinyHTTPServer: @unchecked Sendable {
    struct Seen: Sendable { var line: String; var headers: [String: String] }
    typealias Respond = @Sendable (Seen) -> (status: Int, headers: [(String, String)], body: String)
    let fd: Int32
    let port: UInt16
    let respond: Respond
    private let lock = NSLock()
    private var seenRequests: [Seen] = []
    var requests: [Seen] { lock.withLock { seenRequests } }

    init(respond: @escaping Respond) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        guard let port = bindLoopback(fd, host: "127.0.0.1"), listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        self.fd = fd
        self.port = port
        Thread.detachNewThread { [self] in serve() }
    }

    /// Stops accepting (the accept loop ends when the socket is shut down).
    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: data, as: UTF8.self).contains("\r\n\r\n") {
                let n = recv(client, &buffer, buffer.count, 0)
                guard n > 0 else { break }
                data += buffer.prefix(n)
            }
            let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n")
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let seen = Seen(line: lines.first ?? "", headers: headers)
            lock.withLock { seenRequests.append(seen) }
            let (status, extra, body) = respond(seen)
            var text = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
            for (name, value) in extra { text += "\(name): \(value)\r\n" }
            text += "\r\n" + (seen.line.hasPrefix("HEAD ") ? "" : body)
            let bytes = Array(text.utf8)
            _ = send(client, bytes, bytes.count, Int32(MSG_NOSIGNAL))
            close(client)
        }
    }
}
