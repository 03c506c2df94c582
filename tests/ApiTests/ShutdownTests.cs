using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>
/// A silo that stops with keys and accounts in use: their grains go away with it, and they tell the silos that keep
/// their answers to forget them, but not this silo's own caches, which end with the process (and whose client has
/// stopped first: each call failed after placement retries and logged a warning, thousands when a busy silo stopped).
/// </summary>
public abstract class ShutdownTests
{
    protected abstract ApiServer CreateServer();

    [Fact]
    public async Task A_silo_stopping_with_keys_and_accounts_in_use_asks_no_cache_of_its_own_to_forget_them()
    {
        await using var server = CreateServer();
        Assert.SkipUnless(server.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var capture = CapturingLoggerProvider.On(server);
        await server.InitializeAsync();
        using var client = server.CreateClient();

        // Two accounts, each with a key this silo verified and keeps (its key and user grains hold this silo's caches).
        for (var i = 0; i < 2; i++)
        {
            var user = await client.RegisterAsync("shutdown");
            var (_, key) = await client.CreateApiKeyAsync(user.Token);
            (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
            (await client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        }

        await server.StopAsync();

        var unreachable = capture.Lines
            .Where(line => line.Text.Contains("did not confirm forgetting", StringComparison.Ordinal)
                || line.Text.Contains("ClientNotAvailableException", StringComparison.Ordinal))
            .Select(line => $"{line.Category}: {line.Text[..Math.Min(line.Text.Length, 300)]}")
            .ToList();
        Assert.Empty(unreachable);
    }
}

public sealed class ShutdownTestsOnEmbedded : ShutdownTests
{
    protected override ApiServer CreateServer() => new EmbeddedServer();
}

public sealed class ShutdownTestsOnPostgres : ShutdownTests
{
    protected override ApiServer CreateServer() => new PostgresServer();
}
