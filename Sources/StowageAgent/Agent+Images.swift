import Foundation
import StowageModel

/// Images: pulled (or found) before a task's containers are made, per the pull behaviour, pinned to the
/// deployment's digest when the server sends one; images the agent pulled are removed once unused for long
/// enough, or sooner when the image store's disk fills.
extension Agent {
    /// Gets every image of the task, recording when that began and ended and which digest each resolved to.
    func pullImages(_ arn: String) async throws {
        guard let task = tasks[arn] else { return }
        tasks[arn]?.pullStartedAt = now
        await reportChanges()
        var found: [String: (info: ImageInfo, digest: String?)] = [:]
        for (index, container) in task.containers.enumerated() {
            let assigned = task.assignment.containers.first { $0.name == container.name }?.imageDigest
            let image = container.definition.image ?? ""
            let reference = assigned.map { ImageReference.pinned(image, digest: $0) } ?? image
            let got: (info: ImageInfo, digest: String?)
            // A container's repositoryCredentials (read with the execution role) win over the agent's configured login.
            let login = taskSecrets[arn]?.containers[container.name].flatMap { values -> ImageRegistryCredentials? in
                guard let user = values.registryUsername, let password = values.registryPassword else { return nil }
                return ImageRegistryCredentials(username: user, password: password, registry: ImageReference.registry(reference))
            }
            if let known = found[reference], login == nil {
                got = known
            } else {
                got = try await ensureImage(reference, login: login)
                found[reference] = got
            }
            imageLastUsed[got.info.id] = now
            tasks[arn]?.containers[index].imageReference = reference
            tasks[arn]?.containers[index].imageDigest = assigned ?? got.digest
        }
        tasks[arn]?.pullStoppedAt = now
    }

    /// The image as the pull behaviour wants it, and the digest it is: the registry is asked which digest the
    /// tag names, then the engine pulls. A registry's refusal is the task's CannotPullContainerError unless the
    /// behaviour falls back to a cached copy.
    func ensureImage(_ reference: String, login: ImageRegistryCredentials? = nil) async throws -> (info: ImageInfo, digest: String?) {
        let credentials = login ?? config.registryAuth[ImageReference.registry(reference)]
        let cached = try await runtime.image(reference)
        func recorded(_ info: ImageInfo) -> String? {
            ImageReference.split(reference).tag.flatMap { $0.hasPrefix("sha256:") ? $0 : nil }
                ?? ImageReference.digest(of: reference, repoDigests: info.repoDigests)
        }
        let plan = AgentDecisions.pullPlan(config.imagePullBehavior, cached: cached != nil, pulledBefore: pulledReferences.contains(reference))
        if plan == .useCached, let cached { return (cached, recorded(cached)) }
        do {
            let digest = try await registry.digest(of: reference, credentials: credentials)
            try await runtime.pull(reference, auth: credentials?.engineHeader)
            pulledReferences.insert(reference)
            guard let info = try await runtime.image(reference) else { throw RuntimeError.imageNotFound(reference) }
            pulledImages[info.id, default: []].insert(reference)
            return (info, digest)
        } catch {
            guard plan == .pull(fallBack: true), let cached else { throw Self.pullError(reference, error) }
            logger.warning("pull failed; the cached image is used", metadata: ["image": "\(reference)", "error": "\(error)"])
            return (cached, recorded(cached))
        }
    }

    /// Any failure to get an image is ECS's CannotPullContainerError, with what went wrong.
    static func pullError(_ reference: String, _ error: any Error) -> RuntimeError {
        switch error {
        case let runtime as RuntimeError:
            switch runtime {
            case .pullFailed, .imageNotFound: return runtime
            case .failed(let message), .notFound(let message): return .pullFailed(image: reference, message: message)
            }
        default:
            return .pullFailed(image: reference, message: "\(error)")
        }
    }

    func imageCleanupLoop() async {
        guard let interval = config.imageCleanupInterval else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await cleanImages()
        }
    }

    /// Removes images this agent pulled that no task of its uses: those unused for the minimum age (a few per
    /// run), and more, oldest first, while the image store's filesystem is over its high mark.
    func cleanImages() async {
        guard let images = try? await runtime.images() else { return }
        let inUse = Set(tasks.values.flatMap { task in task.containers.compactMap { $0.details?.imageId } })
        for id in inUse { imageLastUsed[id] = now }
        let candidates = images.filter { pulledImages[$0.id] != nil && !inUse.contains($0.id) }
        var bytesToFree: Int64 = 0
        if let path = await runtime.imageStorePath(), let disk = Self.diskUsage(path), disk.total > 0 {
            let used = 100 * Double(disk.total - disk.available) / Double(disk.total)
            if used > config.imageDiskHighPercent {
                bytesToFree = Int64((used - config.imageDiskLowPercent) / 100 * Double(disk.total))
            }
        }
        let chosen = AgentDecisions.imagesToRemove(candidates, lastUsed: imageLastUsed, now: now, minimumAge: config.imageMinimumAge,
                                                   perRun: config.imagesPerCleanup, bytesToFree: bytesToFree)
        for image in chosen {
            // By the references this agent pulled: an image also tagged by someone else keeps their tags.
            let references = pulledImages[image.id] ?? []
            var removed = false
            for reference in references.sorted() where (try? await runtime.removeImage(reference)) == true { removed = true }
            guard removed else { continue }
            logger.info("removed an unused image", metadata: ["references": "\(references.sorted())", "bytes": "\(image.size)"])
            pulledImages[image.id] = nil
            imageLastUsed[image.id] = nil
            pulledReferences.subtract(references)
        }
    }

    /// Total and available bytes of the filesystem holding `path`.
    static func diskUsage(_ path: String) -> (total: Int64, available: Int64)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let block = Int64(stats.f_frsize)
        return (Int64(stats.f_blocks) * block, Int64(stats.f_bavail) * block)
    }
}
