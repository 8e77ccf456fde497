import Foundation

/// Where each container's log was shipped up to, kept beside the agent's identity in its state directory (0600),
/// so an agent that restarts and adopts running containers sends each of their lines once: it reads from the saved
/// position on, which also takes the lines written while it was down.
///
/// A file of its own, not a member of the identity: it is rewritten after every shipment that moves it, and a
/// failed write of it must never touch the instance's credential.
extension Agent {
    var logPositionsPath: String { config.stateDirectory + "/log-positions.json" }

    /// Takes the saved positions of the containers the engine still has (`existing`) as where reading resumes;
    /// those of containers that are gone are dropped, so the file stays as small as the host's containers.
    func resumeLogPositions(existing: Set<String>) {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: logPositionsPath)) else { return }
        guard let saved = try? JSONDecoder().decode([String: LogPosition].self, from: data) else {
            logger.warning("saved log positions are unreadable; adopted containers' logs are read from their start",
                           metadata: ["path": "\(logPositionsPath)"])
            return
        }
        let kept = saved.filter { existing.contains($0.key) }
        for (id, position) in kept {
            telemetry.logCursor[id] = position
            telemetry.shippedLog[id] = position
        }
        telemetry.shippedLogChanged = kept.count != saved.count
    }

    /// Saves the shipped positions when they moved. A failure is logged and counted, never fatal (static stability):
    /// the lines are shipped all the same, and only a restart before the next good save would send some again.
    func saveLogPositions() {
        guard telemetry.shippedLogChanged else { return }
        do {
            try PrivateFiles.write(JSONEncoder().encode(telemetry.shippedLog), to: logPositionsPath)
            telemetry.shippedLogChanged = false
            if telemetry.logPositionSaveFailures > 0 {
                logger.info("log positions saved again", metadata: ["failed_saves": "\(telemetry.logPositionSaveFailures)"])
                telemetry.logPositionSaveFailures = 0
            }
        } catch {
            telemetry.logPositionSaveFailures += 1
            // The first failure and then one in a hundred: a full disk must not also flood the agent's own log.
            if telemetry.logPositionSaveFailures % 100 == 1 {
                logger.warning("cannot save log positions; a restart may send some lines again",
                               metadata: ["error": "\(error)", "failed_saves": "\(telemetry.logPositionSaveFailures)"])
            }
        }
    }
}
