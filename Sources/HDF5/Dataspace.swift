internal import CHDF5

/// An HDF5 dataspace handle (`H5S`): the shape of a dataset or attribute.
public final class Dataspace {
    let handle: Handle
    var id: hid_t { handle.id }

    init(owning id: hid_t) {
        handle = Handle(id, closer: H5Sclose)
    }

    /// A scalar dataspace (`H5Screate(H5S_SCALAR)`).
    public static func scalar() throws(HDF5Error) -> Dataspace {
        Library.prepare()
        return Dataspace(owning: try Library.check(H5Screate(H5S_SCALAR), "create dataspace", "scalar"))
    }

    /// A simple dataspace of `shape`; `maxShape` entries that are nil are unlimited
    /// (`H5S_UNLIMITED`). Without `maxShape` the space cannot grow.
    public init(shape: [Int], maxShape: [Int?]? = nil) throws(HDF5Error) {
        Library.prepare()
        let dims = shape.map { hsize_t($0) }
        let maxDims = (maxShape ?? shape.map { Optional($0) }).map {
            $0.map { hsize_t($0) } ?? chdf5_s_unlimited()
        }
        let id = try Library.check(
            H5Screate_simple(Int32(dims.count), dims, maxDims), "create dataspace", "\(shape)")
        handle = Handle(id, closer: H5Sclose)
    }

    /// Current dimensions (empty for a scalar space).
    public var shape: [Int] {
        Library.prepare()
        let rank = Int(H5Sget_simple_extent_ndims(id))
        guard rank > 0 else { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        _ = H5Sget_simple_extent_dims(id, &dims, nil)
        return dims.map { Int($0) }
    }

    /// Maximum dimensions; nil entries are unlimited.
    public var maxShape: [Int?] {
        Library.prepare()
        let rank = Int(H5Sget_simple_extent_ndims(id))
        guard rank > 0 else { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        var maxDims = [hsize_t](repeating: 0, count: rank)
        _ = H5Sget_simple_extent_dims(id, &dims, &maxDims)
        return maxDims.map { $0 == chdf5_s_unlimited() ? nil : Int($0) }
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Selects the block `start..<start+count` (`H5Sselect_hyperslab`, `H5S_SELECT_SET`).
    public func selectHyperslab(start: [Int], count: [Int]) throws(HDF5Error) {
        Library.prepare()
        let s = start.map { hsize_t($0) }
        let c = count.map { hsize_t($0) }
        try Library.check(
            H5Sselect_hyperslab(id, H5S_SELECT_SET, s, nil, c, nil), "select hyperslab",
            "start \(start) count \(count)")
    }

    /// Closes the dataspace now (otherwise `deinit` does).
    public func close() { _ = handle.close() }
}
