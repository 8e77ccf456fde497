import Foundation

/// A volume of files made from parameters, secrets and inline text: Stowage's answer to ConfigMaps, Swarm's
/// configs and secrets as files, expressed inside the ECS task-definition shape so boto3 and the AWS CLI send it
/// unchanged: a `dockerVolumeConfiguration` whose `driver` is `stowage` and whose `driverOpts` name the files.
///
///     "driverOpts": {"file:app.conf": "parameter:/app/config", "file:db/password": "secret:arn:…:secret:db-AbCdEf:password::",
///                    "file:motd": "text:hello", "mode": "0440", "uid": "1000", "mode:db/password": "0400", "updates": "roll"}
///
/// The agent writes the files on a tmpfs (never the host's disk) and mounts them read-only.
public struct ConfigVolume: Sendable, Equatable {
    public static let driver = "stowage"

    public enum Source: Sendable, Equatable {
        case parameter(String)
        case secret(String)
        case text(String)
    }

    public struct File: Sendable, Equatable {
        /// Relative to the mount point.
        public var path: String
        public var source: Source
        public var mode: Int
        public var uid: Int
        public var gid: Int
    }

    /// What happens to running tasks when a source's value changes.
    public enum Updates: String, Sendable, Equatable {
        /// A new deployment of the service (the default): a bad value trips the circuit breaker and rolls back.
        case roll
        /// The agent rewrites the files of running tasks in place.
        case inPlace = "in-place"
        /// Nothing: tasks keep what they started with.
        case none
    }

    public var files: [File]
    public var updates: Updates

    /// Parses and checks a `stowage` volume's driver options; every key is either understood or refused by name.
    public static func parse(_ options: [String: String], volume: String) throws(APIError) -> ConfigVolume {
        func refuse(_ text: String) -> APIError { .client("Volume '\(volume)' (driver stowage): \(text)") }
        func id(_ key: String) throws(APIError) -> Int? {
            guard let text = options[key] else { return nil }
            guard let value = Int(text), (0...65_535).contains(value) else { throw refuse("\(key) must be a number from 0 to 65535, got '\(text)'.") }
            return value
        }
        func mode(_ key: String) throws(APIError) -> Int? {
            guard let text = options[key] else { return nil }
            guard let value = Int(text, radix: 8), (0...0o777).contains(value) else { throw refuse("\(key) must be an octal mode such as 0440, got '\(text)'.") }
            return value
        }
        var files: [File] = []
        let defaultMode = try mode("mode") ?? 0o444
        let defaultUid = try id("uid") ?? 0
        let defaultGid = try id("gid") ?? 0
        var updates = Updates.roll
        if let text = options["updates"] {
            guard let value = Updates(rawValue: text) else { throw refuse("updates must be roll, in-place or none, got '\(text)'.") }
            updates = value
        }
        for key in options.keys.sorted() {
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            switch (parts.first ?? "", parts.count) {
            case ("mode", 1), ("uid", 1), ("gid", 1), ("updates", 1): continue
            case ("mode", 2), ("uid", 2), ("gid", 2):
                guard options["file:" + parts[1]] != nil else { throw refuse("\(key) names no file (expected file:\(parts[1])).") }
            case ("file", 2):
                let path = parts[1]
                try checkPath(path, volume: volume)
                let value = options[key] ?? ""
                let source: Source
                if value.hasPrefix("parameter:") {
                    let reference = String(value.dropFirst("parameter:".count))
                    guard case .parameter = try SecretReference.parse(reference) else { throw refuse("\(key): \(reference) is not a parameter.") }
                    source = .parameter(reference)
                } else if value.hasPrefix("secret:") {
                    let reference = String(value.dropFirst("secret:".count))
                    guard case .secret = try SecretReference.parse(reference) else { throw refuse("\(key): \(reference) is not a Secrets Manager secret ARN.") }
                    source = .secret(reference)
                } else if value.hasPrefix("text:") {
                    source = .text(String(value.dropFirst("text:".count)))
                } else {
                    throw refuse("\(key) must be parameter:<name or ARN>, secret:<secret ARN>[:json-key:stage:version] or text:<content>.")
                }
                files.append(File(path: path, source: source, mode: try mode("mode:" + path) ?? defaultMode,
                                  uid: try id("uid:" + path) ?? defaultUid, gid: try id("gid:" + path) ?? defaultGid))
            default:
                throw refuse("driverOpts key '\(key)' is not understood: use file:<path>, mode, uid, gid (each optionally :<path>) and updates.")
            }
        }
        guard !files.isEmpty else { throw refuse("driverOpts names no file (file:<path>).") }
        let paths = Set(files.map(\.path))
        for path in paths where paths.contains(where: { $0.hasPrefix(path + "/") }) {
            throw refuse("file:\(path) is also a directory of another file.")
        }
        return ConfigVolume(files: files, updates: updates)
    }

    static func checkPath(_ path: String, volume: String) throws(APIError) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...255).contains(path.count), !path.hasPrefix("/"), !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
              path.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-/".unicodeScalars.contains($0)) })
        else {
            throw .client("Volume '\(volume)' (driver stowage): file path '\(path)' must be relative, without '.' or '..' segments, of letters, digits, '.', '_', '-' and '/'.")
        }
    }

    /// The configuration volumes of a task definition, by volume name (already checked at registration).
    public static func of(_ definition: TaskDefinition) -> [String: ConfigVolume] {
        var out: [String: ConfigVolume] = [:]
        for volume in definition.volumes ?? [] {
            guard let name = volume.name, let docker = volume.dockerVolumeConfiguration, docker.driver == driver,
                  let parsed = try? parse(docker.driverOpts ?? [:], volume: name) else { continue }
            out[name] = parsed
        }
        return out
    }
}

extension TaskDefinition {
    /// Whether tasks of this definition read a parameter (by name) or secret (by name) that should roll the service
    /// when its value changes: env secrets and rolling configuration volumes; references pinned to a version do not.
    public func rollsOnChange(parameter: String? = nil, secret: String? = nil) -> Bool {
        func names(_ reference: String) -> Bool {
            switch try? SecretReference.parse(reference) {
            case .parameter(let text)?:
                let ref = ParameterRules.reference(text)
                if case .version? = ref.selector { return false }
                return parameter.map { $0 == ref.name } ?? false
            case .secret(let value)?:
                guard value.versionId == nil, let secret else { return false }
                switch SecretRules.reference(value.secretArn) {
                case .arn(_, let name, _): return name == secret
                case .name(let name): return name == secret
                }
            case nil: return false
            }
        }
        for c in containerDefinitions ?? [] {
            if (c.secrets ?? []).contains(where: { names($0.valueFrom) }) { return true }
            if (c.logConfiguration?.secretOptions ?? []).contains(where: { names($0.valueFrom) }) { return true }
        }
        for volume in ConfigVolume.of(self).values where volume.updates == .roll {
            for file in volume.files {
                switch file.source {
                case .parameter(let r), .secret(let r): if names(r) { return true }
                case .text: continue
                }
            }
        }
        return false
    }
}
