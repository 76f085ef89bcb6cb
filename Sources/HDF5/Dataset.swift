internal import CHDF5

/// An HDF5 dataset handle (`H5D`).
public final class Dataset: Object {
    /// The dataset's current dataspace.
    public func space() throws(HDF5Error) -> Dataspace {
        Library.prepare()
        return Dataspace(owning: try Library.check(H5Dget_space(id), "get dataspace", where_))
    }

    /// Current dimensions.
    public func shape() throws(HDF5Error) -> [Int] { try space().shape }

    /// The stored datatype.
    public func datatype() throws(HDF5Error) -> Datatype {
        Library.prepare()
        return Datatype(owning: try Library.check(H5Dget_type(id), "get datatype", where_))
    }

    /// The element type, if it is one of ``ElementType``.
    public func elementType() throws(HDF5Error) -> ElementType? { try datatype().elementType }

    /// Chunk dimensions, or nil for contiguous storage.
    public func chunkShape() throws(HDF5Error) -> [Int]? {
        Library.prepare()
        let dcpl = Handle(
            try Library.check(H5Dget_create_plist(id), "get creation properties", where_), closer: H5Pclose)
        guard H5Pget_layout(dcpl.id) == H5D_CHUNKED else { return nil }
        var dims = [hsize_t](repeating: 0, count: 32)
        let rank = try Library.check(H5Pget_chunk(dcpl.id, 32, &dims), "get chunk", where_)
        return dims.prefix(Int(rank)).map { Int($0) }
    }

    /// The filter pipeline as (id, name) pairs, e.g. `(1, "deflate")`, `(32008, "bitshuffle")`.
    public func filters() throws(HDF5Error) -> [(id: Int, name: String)] {
        Library.prepare()
        let dcpl = Handle(
            try Library.check(H5Dget_create_plist(id), "get creation properties", where_), closer: H5Pclose)
        let count = try Library.check(H5Pget_nfilters(dcpl.id), "get filters", where_)
        var result: [(id: Int, name: String)] = []
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var nValues = 8
            var values = [UInt32](repeating: 0, count: 8)
            var name = [CChar](repeating: 0, count: 256)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl.id, index, &flags, &nValues, &values, name.count, &name, &config)
            try Library.check(filter, "get filter \(index)", where_)
            result.append((Int(filter), cText(name)))
        }
        return result
    }

    /// Bytes the dataset occupies in the file (`H5Dget_storage_size`).
    public func storageSize() -> Int {
        Library.prepare()
        return Int(H5Dget_storage_size(id))
    }

    /// Grows (or shrinks) the dataset to `shape` (`H5Dset_extent`).
    public func extend(to shape: [Int]) throws(HDF5Error) {
        Library.prepare()
        let dims = shape.map { hsize_t($0) }
        try Library.check(H5Dset_extent(id, dims), "extend to \(shape)", where_)
    }

    /// Writes `bytes` (elements of the stored type, row major) into the block
    /// `start..<start+count` (`H5Dwrite` with a hyperslab selection).
    ///
    /// - Precondition: `bytes.count` is the block's element count times the element size.
    public func write(_ bytes: UnsafeRawBufferPointer, start: [Int], count: [Int]) throws(HDF5Error) {
        Library.prepare()
        let type = try datatype()
        precondition(bytes.count == count.reduce(1, *) * type.size, "buffer size does not match the block")
        let fileSpace = try space()
        try fileSpace.selectHyperslab(start: start, count: count)
        let memSpace = try Dataspace(shape: count)
        try Library.check(
            H5Dwrite(id, type.id, memSpace.id, fileSpace.id, chdf5_p_default(), bytes.baseAddress),
            "write block at \(start)", where_)
    }

    /// Writes an array of values of the stored element type into `start..<start+count`.
    public func write<T: BitwiseCopyable>(_ values: [T], start: [Int], count: [Int]) throws(HDF5Error) {
        var failure: HDF5Error?
        values.withUnsafeBytes { raw in
            do throws(HDF5Error) { try write(raw, start: start, count: count) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Stores one already-filtered chunk at `offset` (`H5Dwrite_chunk`, HDF5 >= 1.10.2),
    /// bypassing the filter pipeline.
    ///
    /// - Parameters:
    ///   - bytes: the chunk exactly as the filters would have produced it.
    ///   - offset: the chunk's first element (a multiple of the chunk shape).
    ///   - filterMask: bit `i` set means filter `i` was NOT applied; 0 = all applied.
    public func writeChunk(_ bytes: UnsafeRawBufferPointer, offset: [Int], filterMask: UInt32 = 0) throws(HDF5Error) {
        Library.prepare()
        let dims = offset.map { hsize_t($0) }
        try Library.check(
            H5Dwrite_chunk(id, chdf5_p_default(), filterMask, dims, bytes.count, bytes.baseAddress),
            "write chunk at \(offset)", where_)
    }

    /// Stores one already-filtered chunk held in an array; see ``writeChunk(_:offset:filterMask:)-(UnsafeRawBufferPointer,_,_)``.
    public func writeChunk(_ bytes: [UInt8], offset: [Int], filterMask: UInt32 = 0) throws(HDF5Error) {
        var failure: HDF5Error?
        bytes.withUnsafeBytes { raw in
            do throws(HDF5Error) { try writeChunk(raw, offset: offset, filterMask: filterMask) } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Reads one stored chunk as it is in the file, still filtered (`H5Dread_chunk`).
    ///
    /// - Returns: the filter mask (bit `i` set: filter `i` was skipped) and the bytes.
    public func readChunk(offset: [Int]) throws(HDF5Error) -> (filterMask: UInt32, bytes: [UInt8]) {
        Library.prepare()
        let dims = offset.map { hsize_t($0) }
        var size: hsize_t = 0
        try Library.check(H5Dget_chunk_storage_size(id, dims, &size), "get chunk size at \(offset)", where_)
        var buffer = [UInt8](repeating: 0, count: Int(size))
        var mask: UInt32 = 0
        let rc = buffer.withUnsafeMutableBytes { H5Dread_chunk(id, chdf5_p_default(), dims, &mask, $0.baseAddress) }
        try Library.check(rc, "read chunk at \(offset)", where_)
        return (mask, buffer)
    }

    /// Reads the whole dataset as raw bytes of the stored type.
    public func readBytes() throws(HDF5Error) -> [UInt8] {
        let count = try shape().reduce(1, *)
        return try readBytes(start: nil, count: nil, elements: count)
    }

    /// Reads the block `start..<start+count` as raw bytes of the stored type.
    public func readBytes(start: [Int], count: [Int]) throws(HDF5Error) -> [UInt8] {
        try readBytes(start: start, count: count, elements: count.reduce(1, *))
    }

    private func readBytes(start: [Int]?, count: [Int]?, elements: Int) throws(HDF5Error) -> [UInt8] {
        Library.prepare()
        let type = try datatype()
        var buffer = [UInt8](repeating: 0, count: elements * type.size)
        guard elements > 0 else { return buffer }
        var memSpaceID = chdf5_s_all()
        var fileSpaceID = chdf5_s_all()
        var keep: [Dataspace] = []
        if let start, let count {
            let fileSpace = try space()
            try fileSpace.selectHyperslab(start: start, count: count)
            let memSpace = try Dataspace(shape: count)
            keep = [fileSpace, memSpace]
            memSpaceID = memSpace.id
            fileSpaceID = fileSpace.id
        }
        let rc = buffer.withUnsafeMutableBytes {
            H5Dread(id, type.id, memSpaceID, fileSpaceID, chdf5_p_default(), $0.baseAddress)
        }
        withExtendedLifetime(keep) {}
        try Library.check(rc, "read", where_)
        return buffer
    }

    /// Reads the whole dataset converted to 64-bit integers (integer datasets).
    public func readInt64() throws(HDF5Error) -> [Int64] {
        Library.prepare()
        var values = [Int64](repeating: 0, count: try shape().reduce(1, *))
        guard !values.isEmpty else { return values }
        try Library.check(
            H5Dread(id, chdf5_t_native_int64(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &values),
            "read as int64", where_)
        return values
    }

    /// Reads the whole dataset converted to 32-bit floats (any numeric dataset).
    public func readFloat() throws(HDF5Error) -> [Float] {
        Library.prepare()
        var values = [Float](repeating: 0, count: try shape().reduce(1, *))
        guard !values.isEmpty else { return values }
        try Library.check(
            H5Dread(id, chdf5_t_native_float(), chdf5_s_all(), chdf5_s_all(), chdf5_p_default(), &values),
            "read as float", where_)
        return values
    }

    /// Re-reads the dataset's metadata written by an SWMR writer (`H5Drefresh`).
    public func refresh() throws(HDF5Error) {
        Library.prepare()
        try Library.check(H5Drefresh(id), "refresh", where_)
    }

    /// Flushes the dataset's data and metadata to the file (`H5Dflush`), for SWMR readers.
    public func flush() throws(HDF5Error) {
        Library.prepare()
        try Library.check(H5Dflush(id), "flush", where_)
    }

    /// Makes this dataset a dimension scale called `name` (`H5DSset_scale`).
    public func makeScale(name: String) throws(HDF5Error) {
        Library.prepare()
        try Library.check(H5DSset_scale(id, name), "make dimension scale", where_)
    }

    /// Attaches dimension scale `scale` to dimension `dimension` (`H5DSattach_scale`).
    public func attachScale(_ scale: Dataset, dimension: Int) throws(HDF5Error) {
        Library.prepare()
        try Library.check(
            H5DSattach_scale(id, scale.id, UInt32(dimension)), "attach scale \(scale.path) to dim \(dimension)", where_)
    }

    /// Whether this dataset is a dimension scale (`H5DSis_scale`).
    public func isScale() throws(HDF5Error) -> Bool {
        Library.prepare()
        return try Library.check(H5DSis_scale(id), "check dimension scale", where_) > 0
    }

    /// Number of scales attached to `dimension` (`H5DSget_num_scales`).
    public func scaleCount(dimension: Int) throws(HDF5Error) -> Int {
        Library.prepare()
        return Int(try Library.check(H5DSget_num_scales(id, UInt32(dimension)), "count scales", where_))
    }

    /// Closes the dataset now (otherwise `deinit` does).
    public func close() throws(HDF5Error) {
        try Library.check(handle.close(), "close dataset", where_)
    }
}
