/// StoreHub's release version, reported by `storehub --version`, the bus `hello` and /healthz.
public enum StoreHubVersion {
    public static let current = "0.1.0"
}
