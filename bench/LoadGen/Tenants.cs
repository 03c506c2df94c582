using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace LoadGen;

/// <summary>
/// Many tenants (issue 19, item 2): the tenants of a run, each with its own API key and its own resources, and the
/// choice of tenant and operation for every request of <c>run --tenants FILE</c>.
/// </summary>
/// <remarks>
/// The tenants file has one line per tenant, most popular first: <c>API_KEY RESOURCE_COUNT INDEX</c>. The tenant's
/// seeded resources have the ids <see cref="ResourceId"/>(INDEX, 1..RESOURCE_COUNT) (bench/run-tenants.sh seeds them
/// with the same formula). <c>--pick zipf</c> (default) chooses line r with probability ∝ 1 / r^<c>--zipf</c>;
/// <c>--pick once</c> takes every line once, in order, and ends the run when all are taken (the cold path: each
/// request is a tenant's first). <c>--mix get_one=80,list_first=15,create=5</c> weighs the operations.
/// </remarks>
internal sealed class TenantMix
{
    public const string GetOne = "get_one";
    public const string ListFirst = "list_first";
    public const string Create = "create";

    private static readonly string[] Operations = [GetOne, ListFirst, Create];

    private readonly Tenant[] _tenants;
    private readonly double[] _cumulative; // by tenant, for zipf picks
    private readonly double[] _weights;    // by operation, cumulative
    private readonly bool _once;
    private int _nextOnce = -1;

    private TenantMix(Tenant[] tenants, double exponent, double[] weights, bool once)
    {
        _tenants = tenants;
        _once = once;
        _cumulative = new double[tenants.Length];
        var sum = 0.0;
        for (var r = 0; r < tenants.Length; r++)
        {
            _cumulative[r] = sum += 1.0 / Math.Pow(r + 1, exponent);
        }

        _weights = weights;
    }

    public int Count => _tenants.Length;

    public static IReadOnlyList<string> OperationNames => Operations;

    /// <summary>The mix <c>run</c> uses, or null without <c>--tenants</c>.</summary>
    public static TenantMix? From(Options o)
    {
        if (o.Optional("tenants") is not { } file)
        {
            return null;
        }

        var tenants = File.ReadLines(file).Where(l => l.Length > 0).Select(Tenant.Parse).ToArray();
        if (tenants.Length == 0)
        {
            throw new ArgumentException($"--tenants {file} has no tenants");
        }

        var pick = o.Optional("pick") ?? "zipf";
        if (pick is not ("zipf" or "once"))
        {
            throw new ArgumentException("--pick is zipf or once");
        }

        var given = (o.Optional("mix") ?? $"{GetOne}=80,{ListFirst}=15,{Create}=5").Split(',')
            .Select(part => part.Split('='))
            .ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        if (given.Keys.Except(Operations).FirstOrDefault() is { } unknown)
        {
            throw new ArgumentException($"--mix: unknown operation '{unknown}' (known: {string.Join(", ", Operations)})");
        }

        var cumulative = new double[Operations.Length];
        var total = 0.0;
        for (var i = 0; i < Operations.Length; i++)
        {
            cumulative[i] = total += given.GetValueOrDefault(Operations[i]);
        }

        if (total <= 0)
        {
            throw new ArgumentException("--mix needs a positive weight");
        }

        return new TenantMix(tenants, o.Double("zipf", 1.0), cumulative, pick == "once");
    }

    /// <summary>The next request, or null once <c>--pick once</c> has taken every tenant.</summary>
    public Request? Next(Random random)
    {
        int rank;
        if (_once)
        {
            rank = Interlocked.Increment(ref _nextOnce);
            if (rank >= _tenants.Length)
            {
                return null;
            }
        }
        else
        {
            rank = Array.BinarySearch(_cumulative, random.NextDouble() * _cumulative[^1]);
            rank = Math.Min(rank < 0 ? ~rank : rank, _tenants.Length - 1);
        }

        var tenant = _tenants[rank];
        var roll = random.NextDouble() * _weights[^1];
        var op = 0;
        while (op < _weights.Length - 1 && roll >= _weights[op])
        {
            op++;
        }

        return Operations[op] switch
        {
            GetOne => new Request(op, tenant.Auth, HttpMethod.Get, "/v1/resources/" + ResourceId(tenant.Index, 1 + random.Next(tenant.Resources))),
            ListFirst => new Request(op, tenant.Auth, HttpMethod.Get, "/v1/resources?per_page=20"),
            _ => new Request(op, tenant.Auth, HttpMethod.Post, "/v1/resources"),
        };
    }

    /// <summary>The id of a tenant's seeded resource: hex of index × 65,536 + n, as bench/run-tenants.sh seeds them.</summary>
    public static string ResourceId(int index, int n) =>
        "res_" + ((long)index * 65_536 + n).ToString("x22", CultureInfo.InvariantCulture);

    public readonly record struct Request(int Operation, AuthenticationHeaderValue Auth, HttpMethod Method, string Path)
    {
        public string Expect => Method == HttpMethod.Post ? "201" : "200";
    }

    private sealed record Tenant(AuthenticationHeaderValue Auth, int Resources, int Index)
    {
        public static Tenant Parse(string line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3)
            {
                throw new ArgumentException($"tenants file: expected 'API_KEY RESOURCE_COUNT INDEX', got '{line}'");
            }

            return new Tenant(new AuthenticationHeaderValue("Bearer", parts[0]),
                int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// <c>tenants --count N --password P [--concurrency 4] --out FILE</c>: N accounts through POST /v1/auth/register
    /// (emails tenant-INDEX@bench.example), each with one API key made by POST /v1/api-keys; writes
    /// <c>INDEX USER_ID API_KEY</c> lines to FILE (appending: a run that stopped resumes after the last index written).
    /// </summary>
    public static async Task<int> SeedAsync(Options o, Func<int, HttpClient> client)
    {
        var count = o.Int("count", 10_000);
        var concurrency = o.Int("concurrency", 4);
        var password = o.Required("password");
        var output = o.Required("out");
        var done = File.Exists(output)
            ? File.ReadLines(output).Select(l => int.Parse(l.Split(' ')[0], CultureInfo.InvariantCulture)).ToHashSet()
            : [];
        using var http = client(concurrency);
        using var writer = new StreamWriter(output, append: true);
        var gate = new Lock();
        var next = -1;
        var failed = 0;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                if (done.Contains(i))
                {
                    continue;
                }

                try
                {
                    var (userId, key) = await OneAsync(http, i, password);
                    lock (gate)
                    {
                        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i} {userId} {key}"));
                        if (i % 500 == 0)
                        {
                            writer.Flush();
                            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"tenants: {i:N0}/{count:N0} after {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s"));
                        }
                    }
                }
                catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                    Console.Error.WriteLine($"tenants: {i}: {e.Message}");
                }
            }
        })));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tenants: {count - done.Count - failed:N0} accounts with a key made in {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s ({done.Count:N0} there before, {failed} failed)"));
        return failed == 0 ? 0 : 1;
    }

    private static async Task<(string UserId, string Key)> OneAsync(HttpClient http, int index, string password)
    {
        var register = await PostAsync(http, "/v1/auth/register", null, new Dictionary<string, string>
        {
            ["email"] = $"tenant-{index}@bench.example",
            ["username"] = $"tenant{index}",
            ["password"] = password,
        });
        var access = register.GetProperty("access_token").GetString()!;
        var userId = register.GetProperty("user").GetProperty("id").GetString()!;
        var key = await PostAsync(http, "/v1/api-keys", access, new Dictionary<string, string> { ["name"] = "tenant" });
        return (userId, key.GetProperty("data").GetProperty("key").GetString()!);
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, string? bearer, Dictionary<string, string> body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {text}");
        }

        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }
}
