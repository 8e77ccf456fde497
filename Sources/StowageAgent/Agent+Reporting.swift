import Foundation
import StowageModel

/// Reporting: task state changes to the server, one report in flight, acknowledged before a task is forgotten.
extension Agent {
    func nextSequence() -> Int64 {
        lastSequence = max(lastSequence + 1, Int64(now.timeIntervalSince1970 * 1000))
        return lastSequence
    }

    /// Sends every task whose state changed since its last report. At most one report is in flight: a call
    /// made meanwhile only asks the running one to go round again, so a burst of 200 task transitions costs a
    /// handful of reports, not one each. Each report holds at most `reportBatch` tasks. What fails to send
    /// stays unacknowledged and goes out with the next report (the monitor calls this every second).
    func reportChanges() async {
        if reporting {
            reportAgain = true
            return
        }
        reporting = true
        defer { reporting = false }
        repeat {
            reportAgain = false
            let changed = tasks.values.filter { $0.signature != $0.reported }.sorted { $0.arn < $1.arn }
            let direct = directStates.values.sorted { $0.taskArn < $1.taskArn }
            guard !changed.isEmpty || !direct.isEmpty else { return }
            let states = changed.map { ($0.arn, $0.signature, $0.report) } + direct.map { ($0.taskArn, "", $0) }
            var start = 0
            while start < states.count {
                let chunk = states[start..<min(states.count, start + max(1, config.reportBatch))]
                guard await send(chunk.map(\.2)) else { return }
                for (arn, signature, _) in chunk {
                    if signature.isEmpty {
                        directStates[arn] = nil
                        continue
                    }
                    tasks[arn]?.reported = signature
                    if let task = tasks[arn], task.finished, task.reported == task.signature { tasks[arn] = nil }
                }
                start += chunk.count
            }
        } while reportAgain
    }

    /// Sends one report. True when the server has it, or refused its content (a 4xx other than throttling or
    /// authorization): resending the same bytes would block every later report of this host, so it is
    /// logged and dropped. False when it should be sent again.
    func send(_ states: [AgentProtocol.TaskState]) async -> Bool {
        do {
            let answer: AgentProtocol.StateReportAnswer = try await server.post(
                "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/state",
                AgentProtocol.StateReport(sequence: nextSequence(), tasks: states))
            if let ignored = answer.ignored {
                logger.error("server ignored task states of this report", metadata: ["ignored": "\(ignored)"])
            }
            return true
        } catch let error as APIError where (400..<500).contains(error.awsStatus) && ![403, 404, 429].contains(error.awsStatus) {
            logger.error("state report refused; dropping it", metadata: ["error": "\(error)", "tasks": "\(states.count)"])
            return true
        } catch {
            logger.warning("state report failed; will resend", metadata: ["error": "\(error)"])
            return false
        }
    }
}
