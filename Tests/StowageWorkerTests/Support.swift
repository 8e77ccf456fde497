import Logging

/// Test logs at warning and above, so expected retries do not flood the output.
func quietLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return logger
}
