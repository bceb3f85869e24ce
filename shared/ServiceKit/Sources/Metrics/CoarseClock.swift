#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The wall clock in whole seconds, from `time()`: on Linux a read of the kernel's last tick through the vDSO, with no
/// time counter read. For stamping figures into windows of seconds on a path that records every request, where a
/// precise clock read per request shows in the profile.
public enum CoarseClock {
    /// Whole seconds since 1970.
    public static var secondsSince1970: Double {
        Double(time(nil))
    }
}
