package uk.earshot.localstack.escompat;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.charfilter.HTMLStripCharFilter;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.apache.lucene.analysis.classic.ClassicTokenizer;
import org.apache.lucene.analysis.core.DecimalDigitFilter;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.core.LetterTokenizer;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.core.WhitespaceTokenizer;
import org.apache.lucene.analysis.de.GermanAnalyzer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.es.SpanishAnalyzer;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.ga.IrishAnalyzer;
import org.apache.lucene.analysis.it.ItalianAnalyzer;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.miscellaneous.TruncateTokenFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenizer;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenizer;
import org.apache.lucene.analysis.pattern.PatternReplaceCharFilter;
import org.apache.lucene.analysis.pattern.PatternTokenizer;
import org.apache.lucene.analysis.pt.PortugueseAnalyzer;
import org.apache.lucene.analysis.reverse.ReverseStringFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.synonym.SolrSynonymParser;
import org.apache.lucene.analysis.synonym.SynonymGraphFilter;
import org.apache.lucene.analysis.synonym.SynonymMap;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.AnalyzerScope;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingCharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import static org.elasticsearch.plugins.AnalysisPlugin.requiresAnalysisSettings;

/**
 * The analysis components of ES's analysis-common module that Earshot uses,
 * built on the Lucene classes that already ship in the server's lib/.
 * Parameter names and defaults follow the ES reference.
 */
final class CompatAnalysis {

    private CompatAnalysis() {}

    /** name -> (default stop set, factory(stopwords, stemExclusion)). */
    private record Language(Supplier<CharArraySet> defaultStops, BiFunction<CharArraySet, CharArraySet, Analyzer> factory) {}

    private static final Map<String, Language> LANGUAGES = Map.of(
        "english", new Language(EnglishAnalyzer::getDefaultStopSet, EnglishAnalyzer::new),
        "french", new Language(FrenchAnalyzer::getDefaultStopSet, FrenchAnalyzer::new),
        "german", new Language(GermanAnalyzer::getDefaultStopSet, GermanAnalyzer::new),
        "spanish", new Language(SpanishAnalyzer::getDefaultStopSet, SpanishAnalyzer::new),
        "italian", new Language(ItalianAnalyzer::getDefaultStopSet, ItalianAnalyzer::new),
        "portuguese", new Language(PortugueseAnalyzer::getDefaultStopSet, PortugueseAnalyzer::new),
        "irish", new Language(IrishAnalyzer::getDefaultStopSet, IrishAnalyzer::new)
    );

    // ---------------------------------------------------------------- analyzers

    static Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> analyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> out = new HashMap<>();
        LANGUAGES.forEach((lang, spec) -> out.put(lang, (indexSettings, env, name, settings) -> {
            CharArraySet stops = stopwords(settings, "stopwords", spec.defaultStops().get());
            CharArraySet exclusion = new CharArraySet(settings.getAsList("stem_exclusion", List.of()), false);
            return analyzerProvider(name, spec.factory().apply(stops, exclusion));
        }));
        return out;
    }

    private static <T extends Analyzer> AnalyzerProvider<T> analyzerProvider(String name, T analyzer) {
        return new AnalyzerProvider<>() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public AnalyzerScope scope() {
                return AnalyzerScope.INDEX;
            }

            @Override
            public T get() {
                return analyzer;
            }
        };
    }

    /** "_english_"-style named sets, "_none_", or an explicit list, as ES accepts them. */
    static CharArraySet stopwords(Settings settings, String key, CharArraySet defaults) {
        boolean ignoreCase = settings.getAsBoolean("ignore_case", false);
        if (settings.get(key + "_path") != null) {
            throw new IllegalArgumentException("[" + key + "_path] is not supported by the Earshot local stack; list the words inline");
        }
        List<String> words = settings.getAsList(key, null);
        if (words == null) {
            return defaults;
        }
        if (words.size() == 1 && words.get(0).startsWith("_") && words.get(0).endsWith("_")) {
            return namedStopSet(words.get(0));
        }
        List<String> all = new ArrayList<>();
        for (String w : words) {
            if (w.startsWith("_") && w.endsWith("_") && w.length() > 2) {
                all.addAll(toStrings(namedStopSet(w)));
            } else {
                all.add(w);
            }
        }
        return new CharArraySet(all, ignoreCase);
    }

    private static CharArraySet namedStopSet(String token) {
        if (token.equals("_none_")) {
            return CharArraySet.EMPTY_SET;
        }
        Language lang = LANGUAGES.get(token.substring(1, token.length() - 1));
        if (lang == null) {
            throw new IllegalArgumentException("Unknown stop word set [" + token + "] (Earshot local stack knows "
                + LANGUAGES.keySet() + " and _none_)");
        }
        return lang.defaultStops().get();
    }

    private static List<String> toStrings(CharArraySet set) {
        List<String> out = new ArrayList<>();
        for (Object o : set) {
            out.add(o instanceof char[] chars ? new String(chars) : o.toString());
        }
        return out;
    }

    // ------------------------------------------------------------ token filters

    interface FilterFn {
        TokenStream apply(TokenStream in);
    }

    private static TokenFilterFactory filter(String name, FilterFn fn) {
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream tokenStream) {
                return fn.apply(tokenStream);
            }
        };
    }

    /** A filter that also works inside a keyword-field normalizer. */
    private static TokenFilterFactory normalizingFilter(String name, FilterFn fn) {
        return new NormalizingTokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream tokenStream) {
                return fn.apply(tokenStream);
            }
        };
    }

    static Map<String, AnalysisProvider<TokenFilterFactory>> tokenFilters() {
        Map<String, AnalysisProvider<TokenFilterFactory>> out = new HashMap<>();
        out.put("uppercase", (is, env, name, s) -> normalizingFilter(name, UpperCaseFilter::new));
        out.put("asciifolding", (is, env, name, s) -> {
            boolean preserve = s.getAsBoolean("preserve_original", false);
            return normalizingFilter(name, ts -> new ASCIIFoldingFilter(ts, preserve));
        });
        out.put("trim", (is, env, name, s) -> normalizingFilter(name, TrimFilter::new));
        out.put("decimal_digit", (is, env, name, s) -> normalizingFilter(name, DecimalDigitFilter::new));
        out.put("reverse", (is, env, name, s) -> filter(name, ReverseStringFilter::new));
        out.put("porter_stem", (is, env, name, s) -> filter(name, PorterStemFilter::new));
        out.put("kstem", (is, env, name, s) -> filter(name, KStemFilter::new));
        out.put("stemmer", (is, env, name, s) -> {
            String lang = s.get("language", s.get("name", "english")).toLowerCase(Locale.ROOT);
            return filter(name, stemmer(lang));
        });
        out.put("snowball", (is, env, name, s) -> {
            String lang = s.get("language", "English");
            String cls = Character.toUpperCase(lang.charAt(0)) + lang.substring(1);
            return filter(name, ts -> new SnowballFilter(ts, cls));
        });
        out.put("length", (is, env, name, s) -> {
            int min = s.getAsInt("min", 0);
            int max = s.getAsInt("max", Integer.MAX_VALUE);
            return filter(name, ts -> new LengthFilter(ts, min, max));
        });
        out.put("truncate", (is, env, name, s) -> {
            int length = s.getAsInt("length", 10);
            return filter(name, ts -> new TruncateTokenFilter(ts, length));
        });
        out.put("unique", (is, env, name, s) -> {
            boolean samePosition = s.getAsBoolean("only_on_same_position", false);
            return filter(name, ts -> new UniqueTokenFilter(ts, samePosition));
        });
        out.put("elision", requiresAnalysisSettings((is, env, name, s) -> {
            CharArraySet articles = new CharArraySet(s.getAsList("articles", List.of()), s.getAsBoolean("articles_case", false));
            if (articles.isEmpty()) {
                throw new IllegalArgumentException("elision filter requires [articles] setting");
            }
            return normalizingFilter(name, ts -> new ElisionFilter(ts, articles));
        }));
        out.put("edge_ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1);
            int max = s.getAsInt("max_gram", 2);
            boolean keep = s.getAsBoolean("preserve_original", false);
            return filter(name, ts -> new EdgeNGramTokenFilter(ts, min, max, keep));
        });
        out.put("ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1);
            int max = s.getAsInt("max_gram", 2);
            boolean keep = s.getAsBoolean("preserve_original", false);
            return filter(name, ts -> new NGramTokenFilter(ts, min, max, keep));
        });
        out.put("word_delimiter_graph", (is, env, name, s) -> {
            int flags = 0;
            flags |= flag(s, "generate_word_parts", true, WordDelimiterGraphFilter.GENERATE_WORD_PARTS);
            flags |= flag(s, "generate_number_parts", true, WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS);
            flags |= flag(s, "catenate_words", false, WordDelimiterGraphFilter.CATENATE_WORDS);
            flags |= flag(s, "catenate_numbers", false, WordDelimiterGraphFilter.CATENATE_NUMBERS);
            flags |= flag(s, "catenate_all", false, WordDelimiterGraphFilter.CATENATE_ALL);
            flags |= flag(s, "split_on_case_change", true, WordDelimiterGraphFilter.SPLIT_ON_CASE_CHANGE);
            flags |= flag(s, "preserve_original", false, WordDelimiterGraphFilter.PRESERVE_ORIGINAL);
            flags |= flag(s, "split_on_numerics", true, WordDelimiterGraphFilter.SPLIT_ON_NUMERICS);
            flags |= flag(s, "stem_english_possessive", true, WordDelimiterGraphFilter.STEM_ENGLISH_POSSESSIVE);
            final int f = flags;
            CharArraySet protect = new CharArraySet(s.getAsList("protected_words", List.of()), false);
            return filter(name, ts -> new WordDelimiterGraphFilter(ts, f, protect.isEmpty() ? null : protect));
        });
        AnalysisProvider<TokenFilterFactory> synonyms = requiresAnalysisSettings((is, env, name, s) -> {
            SynonymMap map = synonymMap(s);
            boolean lenientEmpty = map.fst == null;
            return filter(name, ts -> lenientEmpty ? ts : new SynonymGraphFilter(ts, map, false));
        });
        // Graph filter for both names: fine at query time (where Earshot uses
        // synonyms); index-time multi-word synonyms would need flatten_graph.
        out.put("synonym", synonyms);
        out.put("synonym_graph", synonyms);
        return out;
    }

    private static int flag(Settings s, String key, boolean dflt, int bit) {
        return s.getAsBoolean(key, dflt) ? bit : 0;
    }

    private static FilterFn stemmer(String lang) {
        return switch (lang) {
            case "english", "porter" -> PorterStemFilter::new;
            case "light_english", "kstem" -> KStemFilter::new;
            case "minimal_english" -> EnglishMinimalStemFilter::new;
            case "possessive_english" -> EnglishPossessiveFilter::new;
            case "porter2" -> ts -> new SnowballFilter(ts, "English");
            case "lovins" -> ts -> new SnowballFilter(ts, "Lovins");
            case "french" -> ts -> new SnowballFilter(ts, "French");
            case "german" -> ts -> new SnowballFilter(ts, "German");
            case "spanish" -> ts -> new SnowballFilter(ts, "Spanish");
            case "italian" -> ts -> new SnowballFilter(ts, "Italian");
            case "portuguese" -> ts -> new SnowballFilter(ts, "Portuguese");
            case "irish" -> ts -> new SnowballFilter(ts, "Irish");
            default -> throw new IllegalArgumentException("stemmer language [" + lang + "] is not supported by the Earshot local stack");
        };
    }

    /** Inline Solr-format rules ("a, b" or "a => b"), parsed with standard tokenizer + lowercase. */
    private static SynonymMap synonymMap(Settings s) throws IOException {
        if (s.get("synonyms_path") != null || s.get("synonyms_set") != null) {
            throw new IllegalArgumentException("synonyms_path / synonyms_set are not supported by the Earshot local stack; list [synonyms] inline");
        }
        List<String> rules = s.getAsList("synonyms", List.of());
        boolean expand = s.getAsBoolean("expand", true);
        boolean lenient = s.getAsBoolean("lenient", false);
        Analyzer parseAnalyzer = new Analyzer() {
            @Override
            protected TokenStreamComponents createComponents(String fieldName) {
                Tokenizer t = new StandardTokenizer();
                return new TokenStreamComponents(t, new LowerCaseFilter(t));
            }
        };
        SolrSynonymParser parser = new SolrSynonymParser(true, expand, parseAnalyzer);
        try {
            parser.parse(new StringReader(String.join("\n", rules)));
        } catch (ParseException | IllegalArgumentException e) {
            if (lenient == false) {
                throw new IllegalArgumentException("failed to build synonyms: " + e.getMessage(), e);
            }
        }
        return parser.build();
    }

    // --------------------------------------------------------------- tokenizers

    static Map<String, AnalysisProvider<TokenizerFactory>> tokenizers() {
        Map<String, AnalysisProvider<TokenizerFactory>> out = new HashMap<>();
        out.put("whitespace", (is, env, name, s) -> TokenizerFactory.newFactory(name, WhitespaceTokenizer::new));
        out.put("keyword", (is, env, name, s) -> TokenizerFactory.newFactory(name, KeywordTokenizer::new));
        out.put("letter", (is, env, name, s) -> TokenizerFactory.newFactory(name, LetterTokenizer::new));
        out.put("classic", (is, env, name, s) -> {
            int max = s.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, () -> {
                ClassicTokenizer t = new ClassicTokenizer();
                t.setMaxTokenLength(max);
                return t;
            });
        });
        out.put("uax_url_email", (is, env, name, s) -> {
            int max = s.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, () -> {
                UAX29URLEmailTokenizer t = new UAX29URLEmailTokenizer();
                t.setMaxTokenLength(max);
                return t;
            });
        });
        out.put("pattern", (is, env, name, s) -> {
            Pattern p = Pattern.compile(s.get("pattern", "\\W+"));
            int group = s.getAsInt("group", -1);
            return TokenizerFactory.newFactory(name, () -> new PatternTokenizer(p, group));
        });
        out.put("ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1);
            int max = s.getAsInt("max_gram", 2);
            Function<Integer, Boolean> chars = tokenChars(s);
            return TokenizerFactory.newFactory(name, () -> chars == null ? new NGramTokenizer(min, max) : new NGramTokenizer(min, max) {
                @Override
                protected boolean isTokenChar(int c) {
                    return chars.apply(c);
                }
            });
        });
        out.put("edge_ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1);
            int max = s.getAsInt("max_gram", 2);
            Function<Integer, Boolean> chars = tokenChars(s);
            return TokenizerFactory.newFactory(name, () -> chars == null ? new EdgeNGramTokenizer(min, max) : new EdgeNGramTokenizer(min, max) {
                @Override
                protected boolean isTokenChar(int c) {
                    return chars.apply(c);
                }
            });
        });
        return out;
    }

    /** ngram "token_chars" classes; null means "every character". */
    private static Function<Integer, Boolean> tokenChars(Settings s) {
        List<String> classes = s.getAsList("token_chars", List.of());
        if (classes.isEmpty()) {
            return null;
        }
        Set<String> set = new HashSet<>();
        for (String c : classes) {
            set.add(c.toLowerCase(Locale.ROOT));
        }
        return c -> {
            int t = Character.getType(c);
            if (set.contains("letter") && Character.isLetter(c)) return true;
            if (set.contains("digit") && Character.isDigit(c)) return true;
            if (set.contains("whitespace") && Character.isWhitespace(c)) return true;
            if (set.contains("punctuation") && (t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION
                || t == Character.FINAL_QUOTE_PUNCTUATION || t == Character.OTHER_PUNCTUATION)) return true;
            if (set.contains("symbol") && (t == Character.MATH_SYMBOL || t == Character.CURRENCY_SYMBOL
                || t == Character.MODIFIER_SYMBOL || t == Character.OTHER_SYMBOL)) return true;
            return false;
        };
    }

    // ------------------------------------------------------------- char filters

    interface CharFn {
        Reader apply(Reader in);
    }

    private static CharFilterFactory charFilter(String name, CharFn fn) {
        return new NormalizingCharFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Reader create(Reader reader) {
                return fn.apply(reader);
            }
        };
    }

    static Map<String, AnalysisProvider<CharFilterFactory>> charFilters() {
        Map<String, AnalysisProvider<CharFilterFactory>> out = new HashMap<>();
        out.put("html_strip", (is, env, name, s) -> {
            Set<String> escaped = new HashSet<>(s.getAsList("escaped_tags", List.of()));
            return charFilter(name, r -> new HTMLStripCharFilter(r, escaped.isEmpty() ? null : escaped));
        });
        out.put("mapping", requiresAnalysisSettings((is, env, name, s) -> {
            NormalizeCharMap.Builder b = new NormalizeCharMap.Builder();
            for (String rule : s.getAsList("mappings", List.of())) {
                int arrow = rule.indexOf("=>");
                if (arrow < 0) {
                    throw new IllegalArgumentException("Invalid mapping rule [" + rule + "]");
                }
                String from = unescape(rule.substring(0, arrow).trim());
                String to = unescape(rule.substring(arrow + 2).trim());
                b.add(from, to);
            }
            NormalizeCharMap map = b.build();
            return charFilter(name, r -> new MappingCharFilter(map, r));
        }));
        out.put("pattern_replace", requiresAnalysisSettings((is, env, name, s) -> {
            String pattern = s.get("pattern");
            if (pattern == null) {
                throw new IllegalArgumentException("pattern is missing for [" + name + "] char filter of type 'pattern_replace'");
            }
            Pattern p = Pattern.compile(pattern);
            String replacement = s.get("replacement", "");
            return charFilter(name, r -> new PatternReplaceCharFilter(p, replacement, r));
        }));
        return out;
    }

    private static String unescape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                        i += 4;
                    }
                    default -> out.append(n);
                }
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
