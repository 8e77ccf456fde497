import Foundation

/// Opaque `nextToken`s: the last key of a page, so listing resumes by key rather than by offset.
public enum PageToken {
    public static func encode(_ parts: [String]) -> String {
        let data = (try? JSONEncoder().encode(parts)) ?? Data()
        return data.base64EncodedString()
    }

    public static func decode(_ token: String?) throws(APIError) -> [String]? {
        guard let token else { return nil }
        guard let data = Data(base64Encoded: token), let parts = try? JSONDecoder().decode([String].self, from: data) else {
            throw .invalidParameter("The nextToken is not valid.")
        }
        return parts
    }
}
