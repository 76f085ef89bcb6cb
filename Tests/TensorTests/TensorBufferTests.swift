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
