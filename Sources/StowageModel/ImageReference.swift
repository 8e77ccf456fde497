import Foundation

/// Docker image references (`[registry[:port]/]path[:tag][@digest]`), taken apart the way engines read them.
public enum ImageReference {
    /// The repository and the tag or digest: `a/b:1` -> (`a/b`, `1`); `a/b@sha256:…` -> (`a/b`, `sha256:…`); `a/b` -> (`a/b`, nil).
    public static func split(_ reference: String) -> (name: String, tag: String?) {
        if let at = reference.firstIndex(of: "@") {
            let name = String(reference[..<at])
            return (split(name).name, String(reference[reference.index(after: at)...]))
        }
        let lastSlash = reference.lastIndex(of: "/")
        let tail = lastSlash.map { reference[reference.index(after: $0)...] } ?? reference[...]
        guard let colon = tail.lastIndex(of: ":") else { return (reference, nil) }
        return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
    }

    /// The registry host a reference pulls from (`docker.io` when it names none).
    public static func registry(_ reference: String) -> String {
        let first = reference.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard reference.contains("/"), first.contains(".") || first.contains(":") || first == "localhost" else { return "docker.io" }
        return first
    }

    /// The digest (`sha256:…`) the engine recorded for this reference's repository, from an image's RepoDigests;
    /// nil when it recorded several (which one the registry serves cannot be told from them).
    public static func digest(of reference: String, repoDigests: [String]) -> String? {
        let name = split(reference).name
        let digests = Set(repoDigests.filter { $0.hasPrefix(name + "@") }.compactMap { $0.split(separator: "@", maxSplits: 1).last.map(String.init) })
        return digests.count == 1 ? digests.first : nil
    }

    /// Whether a text is an image digest as registries name one: `sha256:` and 64 lower-case hex digits. A digest a
    /// host reports is pinned for its deployment's other hosts (`name@digest`), so nothing else may pass for one.
    public static func isDigest(_ text: String) -> Bool {
        let hex = text.utf8.dropFirst(7)
        return text.hasPrefix("sha256:") && hex.count == 64 && hex.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// The reference pinned to a digest: `a/b:1` + `sha256:x` -> `a/b@sha256:x`.
    public static func pinned(_ reference: String, digest: String) -> String {
        split(reference).name + "@" + digest
    }
}
