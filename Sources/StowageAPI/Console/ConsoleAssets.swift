import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import StowageModel
import StowageSigning
import StowageStore

/// The web console's files (HTML, scripts, styles, the pinned Chart.js), read from the folder that ships
/// beside the binary and served from memory with a gzip copy: nothing is fetched from anywhere else, so the
/// console works on an air-gapped host.
public struct ConsoleAssets: Sendable {
    struct Asset: Sendable {
        var body: ByteBuffer
        var gzipped: ByteBuffer
        var contentType: String
        var etag: String
    }

    let files: [String: Asset]
    /// Where the files came from; re-read on every request when `live` (editing the console without a restart).
    public let folder: String?
    let live: Bool

    /// No console files: `/console` says where they were looked for.
    public static let none = ConsoleAssets(files: [:], folder: nil, live: false)

    /// Reads the `console` folder found as migrations are (STOWAGE_CONSOLE names it; STOWAGE_CONSOLE_LIVE=1 re-reads it).
    public static func installed() -> ConsoleAssets {
        guard let folder = InstalledFolder.find("console", configured: "STOWAGE_CONSOLE") else { return .none }
        let live = ProcessInfo.processInfo.environment["STOWAGE_CONSOLE_LIVE"] == "1"
        return ConsoleAssets(files: (try? read(folder)) ?? [:], folder: folder, live: live)
    }

    /// Every file under the folder by its path relative to it, e.g. `views/service.js`.
    static func read(_ folder: String) throws -> [String: Asset] {
        var files: [String: Asset] = [:]
        let root = URL(fileURLWithPath: folder).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [:] }
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            guard let type = contentType(relative) else { continue }
            let data = try Data(contentsOf: url)
            var plain = ByteBuffer(bytes: data)
            let gzipped = try plain.compress(with: .gzip())
            let digest = SigV4.sha256Hex(data).prefix(24)
            files[relative] = Asset(body: ByteBuffer(bytes: data), gzipped: gzipped, contentType: type, etag: "\"\(digest)\"")
        }
        return files
    }

    /// Only the kinds of file the console is made of are served; anything else in the folder stays private.
    static func contentType(_ path: String) -> String? {
        switch (path as NSString).pathExtension.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "txt": "text/plain; charset=utf-8"
        default: nil
        }
    }

    func asset(_ path: String) -> Asset? {
        guard live, let folder else { return files[path] }
        return (try? Self.read(folder))?[path]
    }

    /// The console's answer for one file: gzip when the browser takes it, 304 when its copy is current.
    func response(_ path: String, request: Request) -> Response {
        guard let asset = asset(path) else {
            let message = folder == nil
                ? "The console's files were not found: set STOWAGE_CONSOLE to the console folder of a Stowage checkout or install."
                : "No such console file."
            return Response(status: .notFound, headers: Self.securityHeaders(contentType: "text/plain; charset=utf-8"),
                            body: .init(byteBuffer: ByteBuffer(string: message)))
        }
        var headers = Self.securityHeaders(contentType: asset.contentType)
        headers[.eTag] = asset.etag
        // Revalidated every time (a 304 costs one small round trip): an upgrade is never half old, half new.
        headers[.cacheControl] = "no-cache"
        headers[.vary] = "Accept-Encoding"
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        let accepts = request.headers[values: .acceptEncoding].joined(separator: ",").lowercased().contains("gzip")
        if accepts {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.gzipped))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }

    /// Same-origin everything: no inline script, no frames, no third-party anything.
    static func securityHeaders(contentType: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentSecurityPolicy] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        if let referrer = HTTPField.Name("Referrer-Policy") { headers[referrer] = "no-referrer" }
        if let frame = HTTPField.Name("X-Frame-Options") { headers[frame] = "DENY" }
        return headers
    }
}
