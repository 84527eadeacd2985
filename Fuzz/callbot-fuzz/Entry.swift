import Foundation

#if FUZZING
    /// libFuzzer's entry point; the target comes from `CALLBOT_FUZZ_TARGET` (sip, sdp, rtp, config).
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
        guard let start else { return 0 }
        FuzzEntry.target.run(Array(UnsafeBufferPointer(start: start, count: count)))
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func runDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// SwiftPM links an executable's `main` to `<module>_main`: hand the command line to libFuzzer.
    @_cdecl("callbot_fuzz_main")
    public func fuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return runDriver(&count, &arguments) { fuzzOne($0, $1) }
    }

    enum FuzzEntry {
        static let target: FuzzTarget = {
            let name = ProcessInfo.processInfo.environment["CALLBOT_FUZZ_TARGET"] ?? ""
            guard let target = FuzzTarget(rawValue: name) else {
                FileHandle.standardError.write(Data("set CALLBOT_FUZZ_TARGET to sip, sdp, rtp or config\n".utf8))
                exit(2)
            }
            return target
        }()
    }
#else
    /// Without libFuzzer: `callbot-fuzz TARGET DIR...` runs every file of the corpus folders
    /// through the target once, so that CI replays what fuzzing found.
    @main
    struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count >= 2 else {
                print("usage: callbot-fuzz sip|sdp|rtp|config CORPUS_DIR...")
                exit(2)
            }
            var count = 0
            for folder in arguments.dropFirst() {
                let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
                for file in files.sorted() {
                    guard let data = FileManager.default.contents(atPath: folder + "/" + file) else { continue }
                    target.run(Array(data))
                    count += 1
                }
            }
            print("callbot-fuzz \(name): \(count) inputs replayed")
            if count == 0 { exit(1) }
        }
    }
#endif
