import Foundation

/// Mints the ids ECS resources carry, in one place so every door and process makes them alike.
public enum Identifier {
    /// 32 lower-case hex digits: the id of a task or a container instance.
    public static func hex32() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
    public static func task() -> String { hex32() }
    public static func containerInstance() -> String { hex32() }
    /// An EC2-style host id for an agent without an instance identity document.
    public static func ec2Instance() -> String { "i-" + String(hex32().prefix(17)) }
    /// A service deployment, as ECS names them.
    public static func deployment() -> String {
        "ecs-svc/" + String(UInt64.random(in: 1_000_000_000_000_000...9_999_999_999_999_999_999))
    }
}
