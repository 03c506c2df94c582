using System.Globalization;
using System.Text.RegularExpressions;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>One sample of a Prometheus text-format scrape: metric name, labels and value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public bool Has(string label, string value) => Labels.TryGetValue(label, out var v) && v == value;
}

/// <summary>A parsed <c>/metrics</c> answer (Prometheus text exposition format 0.0.4).</summary>
public sealed partial class PrometheusScrape(IReadOnlyList<PrometheusSample> samples)
{
    public IReadOnlyList<PrometheusSample> Samples { get; } = samples;

    public IEnumerable<PrometheusSample> Named(string name) => Samples.Where(s => s.Name == name);

    public bool Contains(string name) => Samples.Any(s => s.Name == name);

    /// <summary>A sample of <paramref name="name"/> with every label given (name=value pairs).</summary>
    public PrometheusSample? Find(string name, params (string Label, string Value)[] labels) =>
        Named(name).FirstOrDefault(s => labels.All(l => s.Has(l.Label, l.Value)));

    public static async Task<PrometheusScrape> GetAsync(Uri managementAddress)
    {
        using var http = new HttpClient { BaseAddress = managementAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync("/metrics", TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        return Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public static PrometheusScrape Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"Not a Prometheus sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in Label().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["name"].Value] = label.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal)
                    .Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new PrometheusSample(match.Groups["name"].Value, labels, value));
        }

        return new PrometheusScrape(samples);
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)",?""")]
    private static partial Regex Label();
}
