internal import CHDF5
import Foundation

/// An open HDF5 file (`H5F`).
///
/// - Important: A file has one owner: create, use and close it from one thread (or one
///   task that does not share it). Objects opened from it must not outlive its use.
public final class File {
    let handle: Handle
    var id: hid_t { handle.id }
    /// The path the file was opened with.
    public let path: String
    /// The root group `/`.
    public let root: Group

    /// How ``File/open(path:mode:swmr:)`` opens a file.
    public enum Mode: Sendable {
        /// Read only (`H5F_ACC_RDONLY`).
        case readOnly
        /// Read and write (`H5F_ACC_RDWR`).
        case readWrite
    }

    private init(id: hid_t, path: String) throws(HDF5Error) {
        handle = Handle(id, closer: H5Fclose)
        self.path = path
        let gid = try Library.check(H5Gopen2(id, "/", chdf5_p_default()), "open root group", path)
        root = Group(handle: Handle(gid, closer: H5Gclose), filePath: path, path: "/")
    }

    /// Creates (truncates) the file at `path`.
    ///
    /// - Parameter latestFormat: use the latest file format (`H5Pset_libver_bounds` latest,
    ///   latest), which SWMR writing requires.
    /// - Throws: ``HDF5Error`` with HDF5's reason (e.g. permission denied, no such directory).
    public static func create(path: String, latestFormat: Bool = false) throws(HDF5Error) -> File {
        Library.prepare()
        let fapl = try accessList(latestFormat: latestFormat, path: path)
        let fid = try Library.check(
            H5Fcreate(path, chdf5_f_acc_trunc(), chdf5_p_default(), fapl.id), "create file", path)
        return try File(id: fid, path: path)
    }

    /// Opens the existing file at `path`.
    ///
    /// - Parameters:
    ///   - mode: read only or read-write.
    ///   - swmr: open as an SWMR reader (read only) or SWMR writer (read-write).
    /// - Throws: ``HDF5Error`` (missing file, not HDF5, locked...).
    public static func open(path: String, mode: Mode = .readOnly, swmr: Bool = false) throws(HDF5Error) -> File {
        Library.prepare()
        let fapl = try accessList(latestFormat: swmr, path: path)
        var flags = mode == .readOnly ? chdf5_f_acc_rdonly() : chdf5_f_acc_rdwr()
        if swmr { flags |= mode == .readOnly ? chdf5_f_acc_swmr_read() : chdf5_f_acc_swmr_write() }
        let fid = try Library.check(H5Fopen(path, flags, fapl.id), "open file", path)
        return try File(id: fid, path: path)
    }

    private static func accessList(latestFormat: Bool, path: String) throws(HDF5Error) -> Handle {
        let fapl = Handle(
            try Library.check(H5Pcreate(chdf5_p_file_access()), "create file access list", path),
            closer: H5Pclose)
        if latestFormat {
            try Library.check(
                H5Pset_libver_bounds(fapl.id, chdf5_f_libver_latest(), chdf5_f_libver_latest()), "set format bounds",
                path)
        }
        return fapl
    }

    /// Creates the file at `path` safely: `body` fills a temporary file in the same folder
    /// (`.NAME.partial-UUID`), which is closed and renamed over `path` only when `body`
    /// returns. When `body` or the close throws, the temporary file is removed and whatever
    /// was at `path` before is left untouched; a partial file never appears under `path`.
    public static func withCreated<R>(
        path: String, latestFormat: Bool = false, _ body: (File) throws -> R
    ) throws -> R {
        let target = URL(fileURLWithPath: path)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).partial-\(UUID().uuidString)").path
        let file = try create(path: temporary, latestFormat: latestFormat)
        do {
            let result = try body(file)
            try file.close()
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw HDF5Error(operation: "rename the finished file into place", object: path, message: reason)
            }
            return result
        } catch let error as HDF5Error {
            try? file.close()
            unlink(temporary)
            throw error.naming(temporary, as: path)
        } catch {
            try? file.close()
            unlink(temporary)
            throw error
        }
    }

    /// Runs `body` with the file at `path` opened, closing it afterwards.
    public static func withOpened<R>(
        path: String, mode: Mode = .readOnly, swmr: Bool = false, _ body: (File) throws -> R
    ) throws -> R {
        let file = try open(path: path, mode: mode, swmr: swmr)
        defer { try? file.close() }
        return try body(file)
    }

    /// Switches a file opened for writing with the latest format into SWMR writing
    /// (`H5Fstart_swmr_write`). Afterwards no objects or attributes can be added.
    public func startSWMRWrite() throws(HDF5Error) {
        Library.prepare()
        try Library.check(H5Fstart_swmr_write(id), "start SWMR write", path)
    }

    /// Flushes every buffer of the file to disk (`H5Fflush`, local scope).
    public func flush() throws(HDF5Error) {
        Library.prepare()
        try Library.check(H5Fflush(id, H5F_SCOPE_LOCAL), "flush", path)
    }

    /// Whether the file is still open.
    public var isOpen: Bool { handle.isOpen }

    /// Closes the root group and the file (`H5Fclose`). Later calls do nothing.
    public func close() throws(HDF5Error) {
        guard handle.isOpen else { return }
        _ = root.handle.close()
        try Library.check(handle.close(), "close file", path)
    }
}
