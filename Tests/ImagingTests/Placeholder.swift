import Testing

@Test func placeholderImaging() { #expect(Bool(true)) }
