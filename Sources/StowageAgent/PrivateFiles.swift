import Foundation

/// Files only the agent's own user may read: its saved identity, the process runtime's records (which hold
/// containers' environments, secret values included), and the tmpfs tree of configuration files.
public enum PrivateFiles {
    /// Makes a directory with `mode` (0700 by default), or takes one that exists only if it is a real directory (not
    /// a link) owned by this user, under ancestors no other user can rename it out of; its mode is then set to
    /// `mode`. Anyone may make a directory under /dev/shm first and wait for secrets to be written into it: such a
    /// directory is refused, never used.
    public static func directory(_ path: String, mode: mode_t = 0o700) throws {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        }
        if mkdir(path, mode) != 0, errno != EEXIST { throw failure("cannot make \(path)") }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw failure("cannot read \(path)") }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw RuntimeError.failed("\(path) is not a directory (a symbolic link or a file): refused, it must be the agent's own")
        }
        guard info.st_uid == geteuid() else {
            throw RuntimeError.failed("\(path) belongs to uid \(info.st_uid), not to the agent's uid \(geteuid()): refused (remove it and start again)")
        }
        try checkAncestors(of: path)
        if info.st_mode & 0o7777 != mode, chmod(path, mode) != 0 { throw failure("cannot set the mode of \(path)") }
    }

    /// Each ancestor belongs to root or to this user, and one that every user may write to is sticky (as /dev/shm
    /// and /tmp are): otherwise another user could move the directory away and put their own in its place.
    static func checkAncestors(of path: String) throws {
        var current = ((path as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
        while !current.isEmpty {
            var info = stat()
            guard stat(current, &info) == 0 else { throw failure("cannot read \(current)") }
            guard info.st_uid == 0 || info.st_uid == geteuid() else {
                throw RuntimeError.failed("\(current) belongs to uid \(info.st_uid): the agent's private files cannot live under it")
            }
            if info.st_mode & 0o002 != 0, info.st_mode & S_ISVTX == 0 {
                throw RuntimeError.failed("\(current) is writable by every user and not sticky: the agent's private files cannot live under it")
            }
            if current == "/" { break }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    /// Writes a file made with `mode` (0600 by default) from its first byte, never narrowed after, beside `path`
    /// and renamed over it: a reader sees the old file or the new one.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let staging = "\(path).\(UUID().uuidString).tmp"
        let fd = open(staging, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot write \(staging)") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: data)
            guard fchmod(fd, mode) == 0, fsync(fd) == 0 else { throw failure("cannot write \(staging)") }
            try handle.close()
            guard rename(staging, path) == 0 else { throw failure("cannot rename \(staging) to \(path)") }
        } catch {
            unlink(staging)
            throw error
        }
    }

    static func failure(_ what: String) -> RuntimeError {
        .failed("\(what): \(String(cString: strerror(errno)))")
    }
}
