import Foundation

/// Disk space held back for closing a file: when the disk fills while frames are written,
/// HDF5 still needs room for the metadata it writes on close (chunk indexes, dataset
/// extents, the superblock), or the file is left unreadable with every frame in it.
///
/// The space is an unnamed file in the target's folder (created, allocated, and unlinked at
/// once, so no stray file remains after a crash); ``release()`` gives it back to the
/// filesystem for the close. It holds 1 MiB, or an eighth of the free space when that is
/// less; where that cannot be allocated, a quarter is tried, down to 64 KiB; where none can (the disk is already full, or the filesystem cannot allocate
/// ahead), there is no reserve and writing goes on without one.
final class SpaceReserve {
    // Invariant: used by one thread at a time (the writer's owner thread).
    private var descriptor: Int32?

    /// The space held, in bytes (0 when there is no reserve).
    private(set) var bytes = 0

    /// 1 MiB: far more than the close of a sequence writes (a few KiB per dataset).
    static let defaultBytes = 1 << 20

    init(besideFile path: String, bytes largest: Int = SpaceReserve.defaultBytes) {
        let target = URL(fileURLWithPath: path)
        let name = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).reserve-\(UUID().uuidString)").path
        let fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        unlink(name)
        var fs = statvfs()
        let free =
            statvfs(target.deletingLastPathComponent().path, &fs) == 0
            ? Int(clamping: UInt64(fs.f_bavail).multipliedReportingOverflow(by: UInt64(fs.f_frsize)).partialValue)
            : largest
        var wanted = min(largest, free / 8)
        while posix_fallocate(fd, 0, off_t(wanted)) != 0 {
            wanted /= 4
            guard wanted >= 64 << 10 else {
                close(fd)
                return
            }
        }
        descriptor = fd
        bytes = wanted
    }

    /// Gives the space back to the filesystem (once; later calls do nothing).
    func release() {
        if let fd = descriptor { close(fd) }
        descriptor = nil
        bytes = 0
    }

    deinit { release() }
}
