/// A light French stemmer for intent features: plural, common suffixes, then seven letters.
///
/// Crude on purpose: `rappeler`, `rappelez`, `rappelé` and `rappel` meet at `rappel`, which is
/// what matching a caller's words against an administrator's examples needs.
package enum FrenchStemmer {
    static let suffixes: [String] = [
        "issements", "issement", "ements", "ement", "ations", "ation", "itions", "ition", "ateurs", "ateur",
        "atrices", "atrice", "euses", "euse", "eurs", "eur", "ables", "able", "iques", "ique", "ments", "ment",
        "ances", "ance", "ences", "ence", "ites", "ite", "ives", "ive", "erons", "erez", "eront", "erai", "era",
        "aient", "ait", "antes", "ante", "ants", "ant", "ions", "ion", "ees", "ee", "er", "ez", "es", "e", "ons",
        "ent", "is", "it", "ir", "ie",
    ]

    /// The stem of a normalised word.
    package static func stem(_ word: String) -> String {
        var w = Substring(word)
        if w.count > 3, w.hasSuffix("s") || w.hasSuffix("x") { w = w.dropLast() }
        for suffix in suffixes where w.hasSuffix(suffix) && w.count - suffix.count >= 4 {
            w = w.dropLast(suffix.count)
            break
        }
        return String(w.prefix(7))
    }
}
