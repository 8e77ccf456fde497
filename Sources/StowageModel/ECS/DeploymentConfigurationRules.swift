extension DeploymentConfiguration {
    /// ECS's deployment settings with its defaults and bounds: what CreateService asks for over the defaults, or what
    /// UpdateService changes over the service's current settings (`base`). Checked where the service's strategy is
    /// known, since a DAEMON service allows other bounds than a REPLICA one.
    public static func checked(_ given: DeploymentConfiguration?, daemon: Bool, base: DeploymentConfiguration? = nil)
        throws(APIError) -> DeploymentConfiguration
    {
        var config = base ?? DeploymentConfiguration(maximumPercent: daemon ? 100 : 200, minimumHealthyPercent: daemon ? 0 : 100)
        if let max = given?.maximumPercent { config.maximumPercent = max }
        if let min = given?.minimumHealthyPercent { config.minimumHealthyPercent = min }
        if let breaker = given?.deploymentCircuitBreaker { config.deploymentCircuitBreaker = breaker }
        let min = config.minimumHealthyPercent ?? 100
        let max = config.maximumPercent ?? 200
        guard (0...100).contains(min) else { throw .invalidParameter("minimumHealthyPercent must be between 0 and 100, got \(min).") }
        guard (100...200).contains(max) else { throw .invalidParameter("maximumPercent must be between 100 and 200, got \(max).") }
        guard max > min else {
            throw .invalidParameter("maximumPercent (\(max)) must exceed minimumHealthyPercent (\(min)), or a deployment could never make progress.")
        }
        if daemon && max != 100 { throw .invalidParameter("DAEMON services run one task per instance: maximumPercent must be 100.") }
        return config
    }
}
