using ApiPlatform.Grains.Webhooks;
using Microsoft.Extensions.Options;

namespace ApiPlatform.UnitTests;

/// <summary>Webhook URL checks run off the caller and their verdict is reused for a short while.</summary>
public sealed class UrlCheckerTests
{
    private static UrlChecker Checker(TimeSpan cacheFor, bool allowPrivate = false) =>
        new(Options.Create(new WebhookOptions { UrlCheckCacheDuration = cacheFor, AllowPrivateNetworks = allowPrivate }));

    [Fact]
    public async Task Checks_of_one_url_share_one_lookup_while_the_verdict_is_fresh()
    {
        var checker = Checker(TimeSpan.FromMinutes(1));
        var first = checker.CheckAsync("http://unresolvable-host.invalid/hook");
        var second = checker.CheckAsync("http://unresolvable-host.invalid/hook");
        Assert.Same(first, second);
        Assert.Contains("could not be resolved", await first);
        Assert.Same(first, checker.CheckAsync("http://unresolvable-host.invalid/hook"));
        Assert.NotSame(first, checker.CheckAsync("http://unresolvable-host.invalid/other"));
    }

    [Fact]
    public async Task A_stale_verdict_is_looked_up_again_and_the_policy_still_applies()
    {
        var checker = Checker(TimeSpan.Zero);
        var first = checker.CheckAsync("http://127.0.0.1/hook");
        Assert.NotNull(await first); // private addresses are refused without AllowPrivateNetworks
        Assert.NotSame(first, checker.CheckAsync("http://127.0.0.1/hook"));
        Assert.Null(await Checker(TimeSpan.Zero, allowPrivate: true).CheckAsync("http://127.0.0.1/hook"));
        Assert.Equal("must be an absolute http or https URL", await checker.CheckAsync("ftp://example.com/x"));
    }
}
