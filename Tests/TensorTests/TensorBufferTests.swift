import Testing

@testable import Tensor

@Suite struct TensorBufferTests {
    @Test func copiesOnWriteOnly() {
        var a = TensorBuffer([1, 2, 3])
        let b = a
        a[1] = 20
        #expect(a.array == [1, 20, 3])
        #expect(b.array == [1, 2, 3])
        var c = TensorBuffer(repeating: 0.5, count: 4)
        c.withUnsafeMutableBufferPointer { p in p[3] = 7 }
        #expect(c.array == [0.5, 0.5, 0.5, 7])
        #expect(TensorBuffer([1, 2]) == TensorBuffer([1, 2]) && TensorBuffer([1, 2]) != TensorBuffer([1, 3]))
        #expect(TensorBuffer([]).isEmpty && TensorBuffer([]) == TensorBuffer(uninitialized: 0))
    }

    /// Headroom: the header is written in front of the values, the region is header then
    /// values, the values stay 64-byte aligned, and a copy on write has no headroom (so a lent
    /// region never sees a writer's change).
    @Test func headroomLendsHeaderAndValuesAsOneRegion() throws {
        var a = TensorBuffer(uninitialized: 5, headroomBytes: 12)
        a.withUnsafeMutableBufferPointer { p in for i in 0..<5 { p[i] = Float(i) + 0.5 } }
        let (region, owner) = try #require(a.lentBytes(prefix: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))
        #expect(region.count == 12 + 20)
        #expect(Array(region.prefix(12)) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(
            (0..<5).map { region.loadUnaligned(fromByteOffset: 12 + 4 * $0, as: Float.self) } == [
                0.5, 1.5, 2.5, 3.5, 4.5,
            ])
        a.withUnsafeBufferPointer { #expect(Int(bitPattern: $0.baseAddress) % 64 == 0) }
        #expect(a.array == [0.5, 1.5, 2.5, 3.5, 4.5])
        // More header than headroom: refused, nothing written.
        #expect(a.lentBytes(prefix: [UInt8](repeating: 0, count: 65)) == nil)
        // While the region is lent (owner held), a change copies, leaving the region as it was.
        _ = owner
        var b = a
        b[0] = 99
        #expect(region.loadUnaligned(fromByteOffset: 12, as: Float.self) == 0.5)
        #expect(b.lentBytes(prefix: [1]) == nil && a.lentBytes(prefix: [1]) != nil)
        #expect(TensorBuffer([1, 2]).lentBytes(prefix: [1]) == nil)
    }

    /// Adopted memory is used in place and its owner lives exactly as long as the buffer.
    @Test func adoptedMemoryIsUsedInPlaceAndReleasedWithTheBuffer() {
        final class Owner: @unchecked Sendable {
            let memory = UnsafeMutablePointer<Float>.allocate(capacity: 4)
            deinit { memory.deallocate() }
        }
        weak var watched: Owner?
        do {
            let owner = Owner()
            watched = owner
            owner.memory.initialize(from: [1, 2, 3, 4], count: 4)
            var buffer = TensorBuffer(adopting: owner.memory, count: 4, owner: owner)
            #expect(buffer.array == [1, 2, 3, 4])
            buffer.withUnsafeBufferPointer { #expect($0.baseAddress == UnsafePointer(owner.memory)) }
            // The only user changes it in place; a shared one copies first.
            buffer[0] = 10
            #expect(owner.memory[0] == 10)
            let copy = buffer
            buffer[1] = 20
            #expect(owner.memory[1] == 2 && copy.array == [10, 2, 3, 4] && buffer.array == [10, 20, 3, 4])
        }
        #expect(watched == nil)
    }

    @Test func poolReusesBuffersThatFit() {
        let pool = BufferPool()
        let (a, capA) = pool.take(1000)
        #expect(capA == 1000 && pool.statistics.allocations == 1)
        pool.give(a, capacity: capA)
        #expect(pool.statistics.pooledBytes == 4000 && pool.statistics.liveBytes == 0)
        // Smaller requests take the free buffer when it is at most four times their size.
        let (b, capB) = pool.take(400)
        #expect(b == a && capB == 1000 && pool.statistics.reuses == 1)
        let (c, capC) = pool.take(200)
        #expect(c != a && capC == 200 && pool.statistics.allocations == 2)
        #expect(pool.statistics.peakLiveBytes == 4800)
        pool.give(b, capacity: capB)
        pool.give(c, capacity: capC)
        // The smallest buffer that fits is preferred.
        let (d, capD) = pool.take(150)
        #expect(d == c && capD == 200)
        pool.give(d, capacity: capD)
        pool.drain()
        #expect(pool.statistics.pooledBytes == 0)
    }

    @Test func ops() {
        // An op output drawn from the pool behaves like any value: writing one copy leaves
        // the other alone.
        let backend = CPUBackend(threads: 2)
        let x = FeatureMap(height: 2, width: 2, channels: 1, data: [1, 2, 3, 4])
        var y = backend.roll(x, by: 1)
        let z = y
        backend.add(&y, x)
        #expect(z.data.array == [4, 3, 2, 1])
        #expect(y.data.array == [5, 5, 5, 5])
    }
}
