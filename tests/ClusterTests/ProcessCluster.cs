using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Npgsql;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// Three processes of the real executable forming one Orleans cluster on a fresh PostgreSQL database (the server
/// ./test.sh starts, named by <c>TEST_POSTGRES</c>), each serving HTTP on its own loopback port.
/// </summary>
public class ProcessCluster : IAsyncLifetime
{
    public const string AdminEmail = "admin@example.test";
    public const string AdminPassword = "admin-password-123";

    private readonly string _database = "cluster_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _logs = Path.Combine(Path.GetTempPath(), "cluster-logs-" + Guid.NewGuid().ToString("N")[..8]);

    public List<SiloProcess> Silos { get; } = [];

    /// <summary>The settings every process of this cluster shares.</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public string LogDirectory => _logs;

    public bool Available => Server is not null;

    /// <summary>The PostgreSQL server the cluster's database is created on; by default the shared one ./test.sh starts.</summary>
    protected virtual string? Server => SharedServer;

    /// <summary>The shared server (<c>TEST_POSTGRES</c>); its presence also says "run the PostgreSQL tests".</summary>
    protected static string? SharedServer
    {
        get
        {
            var value = System.Environment.GetEnvironmentVariable("TEST_POSTGRES");
            if (string.IsNullOrWhiteSpace(value) && System.Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") == "1")
            {
                throw new InvalidOperationException("REQUIRE_POSTGRES=1 but TEST_POSTGRES is not set: run ./test.sh.");
            }

            return string.IsNullOrWhiteSpace(value) ? null : value;
        }
    }

    public virtual async ValueTask InitializeAsync()
    {
        if (Server is not { } server)
        {
            return;
        }

        Directory.CreateDirectory(_logs);
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {_database}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var environment = Environment;
        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = new NpgsqlConnectionStringBuilder(server) { Database = _database }.ConnectionString,
            ["Jwt__SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Orleans__ClusterId"] = "proc-" + Guid.NewGuid().ToString("N")[..8],
            ["Orleans__ServiceId"] = "proc-" + Guid.NewGuid().ToString("N")[..8],
            ["Orleans__AdvertisedIPAddress"] = "127.0.0.1",
            // Declare a killed silo dead in seconds rather than the production default's tens of seconds.
            ["Orleans__Membership__ProbeTimeout"] = "00:00:01",
            ["Orleans__Membership__NumMissedProbesLimit"] = "2",
            ["Orleans__Membership__TableRefreshTimeout"] = "00:00:02",
            ["Bootstrap__AdminEmail"] = AdminEmail,
            ["Bootstrap__AdminPassword"] = AdminPassword,
            ["RateLimits__Anonymous__Limit"] = "1000000",
            ["RateLimits__Plans__free__Limit"] = "1000000",
            ["Plans__Catalog__free__MaxResources"] = "1000000",
            ["Plans__Catalog__tiny__MaxApiKeys"] = "5",
            ["RateLimits__Plans__tiny__Limit"] = "7",
            ["RateLimits__Plans__tiny__WindowSeconds"] = "3600",
            ["Plans__Catalog__busy__MaxApiKeys"] = "5",
            ["RateLimits__Plans__busy__Limit"] = "300",
            ["RateLimits__Plans__busy__WindowSeconds"] = "3600",
            ["Webhooks__AllowPrivateNetworks"] = "true",
            // The recovery sweep republishes what was committed but not acknowledged after this (real time here).
            ["Events__AcknowledgeTimeout"] = "00:00:03",
            ["Webhooks__RetrySchedule__0"] = "00:00:01",
            ["Webhooks__RetrySchedule__1"] = "00:00:01",
            ["Webhooks__RetrySchedule__2"] = "00:00:01",
            ["Webhooks__RetrySchedule__3"] = "00:00:02",
            ["Webhooks__RetrySchedule__4"] = "00:00:02",
            ["Webhooks__RetrySchedule__5"] = "00:00:05",
            ["Webhooks__RetrySchedule__6"] = "00:00:05",
            ["Webhooks__RetrySchedule__7"] = "00:00:05",
            ["Webhooks__RetrySchedule__8"] = "00:00:05",
            ["Webhooks__RetrySchedule__9"] = "00:00:05",
            ["Webhooks__RetrySchedule__10"] = "00:00:05",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        })
        {
            environment[key] = value;
        }

        for (var i = 1; i <= 3; i++)
        {
            var own = new Dictionary<string, string>(environment);
            Configure(i, own);
            Silos.Add(new SiloProcess($"silo{i}", own, _logs));
        }

        // Started together, as a Deployment's pods are: the schema set-up and the cluster join must cope.
        await Task.WhenAll(Silos.Select(s => s.StartAsync()));
    }

    /// <summary>Settings of one silo (1-based) on top of the shared ones.</summary>
    protected virtual void Configure(int silo, Dictionary<string, string> environment)
    {
    }

    /// <summary>
    /// Waits until the membership table records <paramref name="silo"/>'s latest incarnation as dead: the moment the
    /// survivors stop routing to it and take over its share of the grain directory.
    /// </summary>
    public async Task WaitUntilDeclaredDeadAsync(SiloProcess silo, TimeSpan timeout)
    {
        const int Dead = 6; // Orleans.Runtime.SiloStatus.Dead
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Server) { Database = _database }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT status FROM orleansmembershiptable WHERE deploymentid = @cluster AND siloname = @name ORDER BY generation DESC LIMIT 1",
            connection);
        command.Parameters.AddWithValue("cluster", Environment["Orleans__ClusterId"]);
        command.Parameters.AddWithValue("name", silo.Name);
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (await command.ExecuteScalarAsync() is not Dead)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"{silo.Name} was not declared dead within {timeout}");
            await Task.Delay(100);
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        await Task.WhenAll(Silos.Select(s => s.DisposeAsync().AsTask()));
        if (Server is { } server)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(server);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}

/// <summary>Minimal JSON-over-HTTP helpers for the cluster tests.</summary>
public static class Api
{
    public static HttpClient Client(Uri baseAddress) => new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public static async Task<(HttpStatusCode Status, JsonNode? Json, HttpResponseMessage Response)> SendAsync(
        HttpClient http, HttpMethod method, string path, object? body = null, string? token = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        configure?.Invoke(request);
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && text[0] is '{' or '[' ? JsonNode.Parse(text) : null, response);
    }

    /// <summary>Registers a fresh user and returns (id, access token).</summary>
    public static async Task<(string Id, string Token)> RegisterAsync(HttpClient http)
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..12];
        var (status, json, _) = await SendAsync(http, HttpMethod.Post, "/v1/auth/register",
            new { email = name + "@example.test", username = name, password = "password-123" });
        Assert.Equal(HttpStatusCode.Created, status);
        return ((string)json!["user"]!["id"]!, (string)json["access_token"]!);
    }

    public static async Task<string> LoginAsync(HttpClient http, string email, string password)
    {
        var (status, json, _) = await SendAsync(http, HttpMethod.Post, "/v1/auth/login", new { email, password });
        Assert.Equal(HttpStatusCode.OK, status);
        return (string)json!["access_token"]!;
    }
}
