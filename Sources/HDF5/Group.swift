internal import CHDF5

/// An HDF5 group handle (`H5G`); ``File/root`` is the root group.
public final class Group: Object {
    /// Creates child group `name` (`H5Gcreate2`).
    public func createGroup(_ name: String) throws(HDF5Error) -> Group {
        Library.prepare()
        let path = childPath(name)
        let gid = try Library.check(
            H5Gcreate2(id, name, chdf5_p_default(), chdf5_p_default(), chdf5_p_default()),
            "create group", "\(filePath):\(path)")
        return Group(handle: Handle(gid, closer: H5Gclose), filePath: filePath, path: path)
    }

    /// Opens child group `name` (`H5Gopen2`).
    public func openGroup(_ name: String) throws(HDF5Error) -> Group {
        Library.prepare()
        let path = childPath(name)
        let gid = try Library.check(
            H5Gopen2(id, name, chdf5_p_default()), "open group", "\(filePath):\(path)")
        return Group(handle: Handle(gid, closer: H5Gclose), filePath: filePath, path: path)
    }

    /// Whether a link called `name` exists in this group (`H5Lexists`).
    public func contains(_ name: String) throws(HDF5Error) -> Bool {
        Library.prepare()
        return try Library.check(
            H5Lexists(id, name, chdf5_p_default()), "check link '\(name)'", where_) > 0
    }

    /// Names of the links in this group, in name order.
    public func memberNames() throws(HDF5Error) -> [String] {
        Library.prepare()
        var info = H5G_info_t()
        try Library.check(H5Gget_info(id, &info), "get group info", where_)
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(
                id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_p_default())
            try Library.check(length, "get link name", where_)
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(
                id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, chdf5_p_default())
            names.append(cText(buffer))
        }
        return names
    }

    /// Creates dataset `name`.
    ///
    /// - Parameters:
    ///   - type: element type.
    ///   - shape: initial dimensions.
    ///   - maxShape: maximum dimensions, nil entries unlimited; default: fixed at `shape`.
    ///   - chunk: chunk dimensions (required when any dimension can grow or a filter is set).
    ///   - filters: filters in pipeline order.
    /// - Throws: ``HDF5Error`` naming the dataset; e.g. when a filter is not available.
    public func createDataset(
        _ name: String, type: ElementType, shape: [Int], maxShape: [Int?]? = nil,
        chunk: [Int]? = nil, filters: [Filter] = []
    ) throws(HDF5Error) -> Dataset {
        Library.prepare()
        let path = childPath(name)
        let object = "\(filePath):\(path)"
        let datatype = try Datatype(type)
        let space = try Dataspace(shape: shape, maxShape: maxShape)
        let dcpl = Handle(
            try Library.check(H5Pcreate(chdf5_p_dataset_create()), "create property list", object),
            closer: H5Pclose)
        if let chunk {
            let dims = chunk.map { hsize_t($0) }
            try Library.check(H5Pset_chunk(dcpl.id, Int32(dims.count), dims), "set chunk \(chunk)", object)
        }
        for filter in filters {
            switch filter {
            case .deflate(let level):
                try Library.check(H5Pset_deflate(dcpl.id, UInt32(level)), "set deflate filter", object)
            case .bitshuffleLZ4:
                // The file must end up with cd_values [major, minor, element size, block size
                // (0 = default), compression (2 = LZ4)]. A loaded plugin's set_local fills in the
                // first three and shifts what we pass behind them, so it gets only [0, 2];
                // without the plugin we store all five ourselves. Optional, so datasets can be
                // created where the plugin is missing: chunks then come through direct writes.
                let available = H5Zfilter_avail(H5Z_filter_t(Filter.bitshuffleID)) > 0
                _ = H5Eclear2(chdf5_e_default())
                let values: [UInt32] = available ? [0, 2] : [0, 0, UInt32(type.size), 0, 2]
                try Library.check(
                    H5Pset_filter(
                        dcpl.id, H5Z_filter_t(Filter.bitshuffleID), UInt32(H5Z_FLAG_OPTIONAL), values.count, values),
                    "set bitshuffle filter", object)
            }
        }
        let did = try Library.check(
            H5Dcreate2(id, name, datatype.id, space.id, chdf5_p_default(), dcpl.id, chdf5_p_default()),
            "create dataset", object)
        return Dataset(handle: Handle(did, closer: H5Dclose), filePath: filePath, path: path)
    }

    /// Opens dataset `name` (`H5Dopen2`).
    public func openDataset(_ name: String) throws(HDF5Error) -> Dataset {
        Library.prepare()
        let path = name.hasPrefix("/") ? name : childPath(name)
        let did = try Library.check(
            H5Dopen2(id, name, chdf5_p_default()), "open dataset", "\(filePath):\(path)")
        return Dataset(handle: Handle(did, closer: H5Dclose), filePath: filePath, path: path)
    }

    /// Closes the group now (otherwise `deinit` does).
    public func close() { _ = handle.close() }
}

/// Filters of a dataset's chunk pipeline.
public enum Filter: Equatable, Sendable {
    /// zlib deflate (`H5Z_FILTER_DEFLATE`, id 1) at `level` 0...9.
    case deflate(level: Int)
    /// Bitshuffle with LZ4 (registered filter 32008; needs the bitshuffle plugin to read).
    case bitshuffleLZ4

    /// The registered HDF5 filter id of bitshuffle.
    public static let bitshuffleID = 32008
}
