import Foundation

/// Access keys as AWS tools find them: the environment, then the shared-credentials file.
public enum SharedCredentials {
    /// The key pair of a profile in an AWS shared-credentials file.
    public static func parse(_ text: String, profile: String = "default") -> (accessKeyId: String, secret: String)? {
        var current = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard current == profile, let eq = line.firstIndex(of: "=") else { continue }
            values[line[..<eq].trimmingCharacters(in: .whitespaces)] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return (id, secret)
    }

    /// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else AWS_SHARED_CREDENTIALS_FILE (or ~/.aws/credentials) at AWS_PROFILE.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment)
        -> (accessKeyId: String, secret: String)?
    {
        if let id = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] { return (id, secret) }
        let path = env["AWS_SHARED_CREDENTIALS_FILE"] ?? ((env["HOME"] ?? "") + "/.aws/credentials")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return parse(text, profile: env["AWS_PROFILE"] ?? "default")
    }
}
