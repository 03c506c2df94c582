using System.Net;
using System.Net.Sockets;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Gateway.RateLimiting;

namespace ApiPlatform.ApiTests;

/// <summary>
/// The anonymous (per address) rate limit behind a proxy: forwarded client addresses are believed only from the
/// configured proxy (here 127.0.0.2; the test's clients connect from 127.0.0.2 or 127.0.0.1 by binding their sockets).
/// </summary>
public sealed class ForwardedHeadersTests : IAsyncLifetime
{
    private const int Budget = 3;
    private readonly EmbeddedServer _server = new();

    public async ValueTask InitializeAsync()
    {
        _server.Overrides["ForwardedHeaders:KnownProxies:0"] = "127.0.0.2";
        _server.Overrides["RateLimits:Anonymous:Limit"] = Budget.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await _server.InitializeAsync();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    /// <summary>A client whose connections come from <paramref name="local"/> (any 127/8 address reaches loopback).</summary>
    private ApiClient ClientFrom(string local)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(local), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new ApiClient(new HttpClient(handler) { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) });
    }

    private static Task<ApiResponse> AnonymousAsync(ApiClient client, params (string Name, string Value)[] headers) =>
        client.PostAsync("/v1/auth/refresh", new { refresh_token = "rt_nope" }, configure: request =>
        {
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        });

    [Fact]
    public async Task Behind_a_trusted_proxy_each_client_address_has_its_own_budget()
    {
        using var proxy = ClientFrom("127.0.0.2");
        for (var i = 0; i < Budget; i++)
        {
            (await AnonymousAsync(proxy, ("X-Forwarded-For", "203.0.113.10"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        }

        (await AnonymousAsync(proxy, ("X-Forwarded-For", "203.0.113.10"))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");

        // Another client behind the same proxy is not stopped by the first one.
        var other = (await AnonymousAsync(proxy, ("X-Forwarded-For", "203.0.113.11"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        // Only the last hop counts: a client cannot choose its address by prepending one.
        (await AnonymousAsync(proxy, ("X-Forwarded-For", "198.51.100.99, 203.0.113.10"))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        // RFC 7239 Forwarded is read as well.
        (await AnonymousAsync(proxy, ("Forwarded", "for=\"[2001:db8::7]:4711\";proto=https"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        Assert.NotNull(other);
    }

    [Fact]
    public async Task Forwarded_headers_from_anyone_else_are_ignored()
    {
        using var direct = ClientFrom("127.0.0.1");
        for (var i = 0; i < Budget; i++)
        {
            (await AnonymousAsync(direct, ("X-Forwarded-For", $"198.51.100.{i + 1}"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        }

        // A made-up address does not buy a fresh budget: the socket's address was charged all along.
        (await AnonymousAsync(direct, ("X-Forwarded-For", "198.51.100.200"))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        (await AnonymousAsync(direct, ("Forwarded", "for=198.51.100.201"))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
    }

    [Fact]
    public async Task Hsts_is_sent_only_when_a_trusted_proxy_reports_https()
    {
        using var proxy = ClientFrom("127.0.0.2");
        using var direct = ClientFrom("127.0.0.1");
        var secure = await proxy.GetAsync("/health", configure: r => r.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https"));
        Assert.Equal("max-age=31536000", secure.Header("Strict-Transport-Security"));
        Assert.Null((await proxy.GetAsync("/health")).Header("Strict-Transport-Security"));
        var spoofed = await direct.GetAsync("/health", configure: r => r.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https"));
        Assert.Null(spoofed.Header("Strict-Transport-Security"));
    }
}

public sealed class AddressKeyTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    public void Ipv6_clients_share_the_budget_of_their_64(string address, string key) =>
        Assert.Equal(key, RateLimiter.AddressKey(IPAddress.Parse(address)));
}

/// <summary>Once an address has spent its budget on failed credentials, unknown keys from it are refused unverified.</summary>
public sealed class SpentAddressTests : IAsyncLifetime
{
    private readonly EmbeddedServer _server = new();

    public async ValueTask InitializeAsync()
    {
        _server.Overrides["RateLimits:Anonymous:Limit"] = "2";
        await _server.InitializeAsync();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Made_up_keys_from_a_spent_address_get_429_while_a_known_key_still_works()
    {
        using var client = _server.CreateClient();
        var user = await client.RegisterAsync();    // spends one token of the address
        var (_, realKey) = await client.CreateApiKeyAsync(user.Token);
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(realKey))).AssertStatus(HttpStatusCode.OK);
        static string MadeUp() => ApiPlatform.Grains.ApiKeys.ApiKeyTokens.Create(ApiPlatform.Grains.Ids.New(ApiPlatform.Grains.Ids.ApiKey), ApiPlatform.Grains.Ids.RandomToken(ApiPlatform.Grains.ApiKeys.ApiKeyTokens.SecretLength));

        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(MadeUp()))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(MadeUp()))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(MadeUp()))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");

        // A key this silo has verified is charged to its own budget, never to the address's. (One it has not seen
        // yet waits for the address's window to end: its verification is exactly the work a spent address gets none of.)
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(realKey))).AssertStatus(HttpStatusCode.OK);
    }
}
