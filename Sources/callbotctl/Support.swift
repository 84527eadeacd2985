import CallbotCore
import Foundation

enum FileHandleWriter {
    static func writeToStandardError(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// Rounds for display: 0.8571428 → 0.857.
func rounded(_ value: Double, _ places: Double = 1000) -> Double { (value * places).rounded() / places }

/// Flushes printed lines now, so that a program reading the chat sees each turn at once.
func flushStandardOutput() {
    fflush(nil)
}
