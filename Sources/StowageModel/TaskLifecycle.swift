/// ECS's task lifecycle, in order: a reported status only ever moves a task forward.
public enum TaskStatus: String, Codable, Sendable, CaseIterable, Comparable {
    case provisioning = "PROVISIONING"
    case pending = "PENDING"
    case activating = "ACTIVATING"
    case running = "RUNNING"
    case deactivating = "DEACTIVATING"
    case stopping = "STOPPING"
    case deprovisioning = "DEPROVISIONING"
    case stopped = "STOPPED"

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: TaskStatus, b: TaskStatus) -> Bool { a.rank < b.rank }
}

/// Why a task stopped, in ECS's words.
public enum StopCode: String, Codable, Sendable {
    case taskFailedToStart = "TaskFailedToStart"
    case essentialContainerExited = "EssentialContainerExited"
    case userInitiated = "UserInitiated"
    case serviceSchedulerInitiated = "ServiceSchedulerInitiated"
    /// FARGATE_SPOT capacity reclaimed (its instance set to DRAINING).
    case spotInterruption = "SpotInterruption"

    /// Failures count toward a deployment's circuit breaker; deliberate stops do not.
    public var isFailure: Bool { self == .taskFailedToStart || self == .essentialContainerExited }
}
