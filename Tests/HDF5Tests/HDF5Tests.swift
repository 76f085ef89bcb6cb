import Foundation
import HDF5
import TestSupport
import Testing

@Suite struct HDF5WrapperTests {
    @Test func opensMissingFileWithAClearError() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("missing.h5")
        do {
            _ = try File.open(path: path)
            Issue.record("opening a missing file succeeded")
        } catch {
            #expect(error.operation == "open file")
            #expect(error.object == path)
            #expect(error.description.contains(path))
            #expect(error.message.lowercased().contains("no such file") || error.message.contains("unable to open"))
        }
    }

    @Test func createInUnwritableDirectoryFails() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("no/such/dir/out.h5")
        #expect(throws: HDF5Error.self) { _ = try File.create(path: path) }
        do {
            _ = try File.create(path: path)
        } catch {
            #expect(error.operation == "create file")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func writesAndReadsDatasetsAndAttributes() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("basic.h5")
        let values = (0..<24).map { UInt16($0 * 1000 + 7) }
        try File.withCreated(path: path) { file in
            let ds = try file.root.createDataset(
                "counts", type: .uint16, shape: [0, 4], maxShape: [nil, 4], chunk: [2, 4],
                filters: [.deflate(level: 4)])
            try ds.extend(to: [6, 4])
            try ds.write(Array(values[0..<12]), start: [0, 0], count: [3, 4])
            try ds.write(Array(values[12..<24]), start: [3, 0], count: [3, 4])
            try ds.setAttribute("name", .string("héllo"))
            try ds.setAttribute("fixed", .fixedString("abc"))
            try file.root.setAttribute("n", .int64(-42))
            try file.root.setAttribute("rate", .double(20_000.5))
            try file.root.setAttribute("size", .int64Array([250, 400]))
            let group = try file.root.createGroup("sub")
            let f = try group.createDataset("half", type: .float16, shape: [3])
            try f.write([Float16(0.5), Float16(-1.25), Float16(1000)], start: [0], count: [3])
        }
        try File.withOpened(path: path) { file in
            let ds = try file.root.openDataset("counts")
            #expect(try ds.shape() == [6, 4])
            #expect(try ds.elementType() == .uint16)
            #expect(try ds.chunkShape() == [2, 4])
            #expect(try ds.filters().map(\.id) == [1])
            #expect(try ds.readInt64() == values.map { Int64($0) })
            #expect(try ds.attribute("name") == .string("héllo"))
            #expect(try ds.attribute("fixed") == .string("abc"))
            #expect(try file.root.attribute("n") == .int64(-42))
            #expect(try file.root.attribute("rate") == .double(20_000.5))
            #expect(try file.root.attribute("size") == .int64Array([250, 400]))
            #expect(try file.root.attributeNames() == ["n", "rate", "size"])
            #expect(try file.root.memberNames() == ["counts", "sub"])
            let half = try file.root.openGroup("sub").openDataset("half")
            #expect(try half.elementType() == .float16)
            #expect(try half.readFloat() == [0.5, -1.25, 1000])
            do throws(HDF5Error) {
                _ = try file.root.openDataset("nope")
                Issue.record("opened a missing dataset")
            } catch {
                #expect(error.object.hasSuffix(":/nope"))
                #expect(!error.message.isEmpty)
            }
        }
        // tools/setup installs h5py: without it this cross-check fails instead of passing silently.
        try #require(Python.has("h5py", "numpy"), "the h5py cross-check needs h5py and numpy")
        let out = try Python.run(
            """
            import sys, h5py, numpy as np
            f = h5py.File(sys.argv[1], 'r')
            d = f['counts']
            assert d.dtype == np.uint16 and d.shape == (6, 4) and d.maxshape == (None, 4), (d.dtype, d.shape, d.maxshape)
            assert d.compression == 'gzip' and d.chunks == (2, 4)
            assert (d[...].ravel() == np.arange(24) * 1000 + 7).all()
            assert d.attrs['name'] == 'héllo', d.attrs['name']
            assert f.attrs['n'] == -42 and f.attrs['rate'] == 20000.5 and list(f.attrs['size']) == [250, 400]
            h = f['sub/half']
            assert h.dtype == np.float16 and list(h[...]) == [0.5, -1.25, 1000.0]
            print('ok')
            """, [path])
        #expect(out == "ok")
    }

    @Test func directChunkWritesAndDimensionScales() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.path("chunks.h5")
        try File.withCreated(path: path, latestFormat: true) { file in
            let img = try file.root.createDataset(
                "img", type: .uint8, shape: [2, 2, 3], maxShape: [nil, 2, 3], chunk: [1, 2, 3])
            let t = try file.root.createDataset("t", type: .int64, shape: [2], maxShape: [nil], chunk: [8])
            try t.write([Int64(10), 20], start: [0], count: [2])
            try t.makeScale(name: "time")
            try img.attachScale(t, dimension: 0)
            #expect(try t.isScale())
            #expect(try img.scaleCount(dimension: 0) == 1)
            try img.writeChunk([1, 2, 3, 4, 5, 6], offset: [0, 0, 0])
            try img.writeChunk([7, 8, 9, 10, 11, 12], offset: [1, 0, 0])
            try file.startSWMRWrite()
            try img.extend(to: [3, 2, 3])
            try img.writeChunk([13, 14, 15, 16, 17, 18], offset: [2, 0, 0])
            try img.flush()
        }
        try File.withOpened(path: path, swmr: true) { file in
            let img = try file.root.openDataset("img")
            #expect(try img.readBytes() == (1...18).map { UInt8($0) })
            #expect(try img.readBytes(start: [1, 0, 0], count: [1, 2, 3]) == (7...12).map { UInt8($0) })
        }
        try #require(Python.has("h5py"), "the h5py cross-check needs h5py")
        let out = try Python.run(
            """
            import sys, h5py
            f = h5py.File(sys.argv[1], 'r')
            d = f['img']
            print(d.shape, list(d.dims[0].keys()), list(d.dims[0][0][...]))
            """, [path])
        #expect(out == "(3, 2, 3) ['time'] [np.int64(10), np.int64(20)]" || out == "(3, 2, 3) ['time'] [10, 20]")
    }
}

@Suite struct HDF5ErrorMessageTests {
    @Test func aFailureIsOneLineWithTheInnermostCauseAndKeepsTheStack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-\(UUID().uuidString).h5").path
        try Data("this is not an HDF5 file".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do throws(HDF5Error) {
            _ = try File.open(path: path)
            Issue.record("opened a text file as HDF5")
        } catch {
            #expect(error.description.hasPrefix("HDF5: open file failed for \(path)"), "\(error)")
            #expect(!error.description.contains("\n"))
            #expect(!error.message.isEmpty)
            #expect(error.stack.count >= 2, "\(error.stack)")
            #expect(error.stack.last?.hasSuffix(error.message) == true)
            #expect(error.verboseDescription.split(separator: "\n").count == error.stack.count + 1)
        }
    }
}
