using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// Webhook URL checks (<see cref="NetworkPolicy.CheckUrlAsync(string, WebhookOptions, CancellationToken)"/>: an allowed port, and the
/// host must resolve, and only to allowed addresses) run on the thread pool, never in a grain's turn, and the verdict on a URL is reused for
/// <see cref="WebhookOptions.UrlCheckCacheDuration"/>: concurrent checks of one URL share one lookup, so a slow DNS
/// server costs one lookup per URL and minute, not one per request.
/// </summary>
public sealed class UrlChecker(IOptions<WebhookOptions> options)
{
    /// <summary>URLs remembered at most; past it the memory starts again empty (it only bounds memory).</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _verdicts = new(StringComparer.Ordinal);

    private sealed record Entry(Task<string?> Verdict, long ExpiresAt);

    /// <summary>Null when <paramref name="url"/> may be a webhook target; otherwise why not.</summary>
    public Task<string?> CheckAsync(string url)
    {
        var settings = options.Value;
        var now = Environment.TickCount64;
        if (_verdicts.TryGetValue(url, out var known) && (known.ExpiresAt > now || !known.Verdict.IsCompleted))
        {
            return known.Verdict;
        }

        if (_verdicts.Count >= MaxEntries)
        {
            _verdicts.Clear();
        }

        var entry = new Entry(Task.Run(() => NetworkPolicy.CheckUrlAsync(url, settings)),
            now + (long)settings.UrlCheckCacheDuration.TotalMilliseconds);
        return _verdicts.AddOrUpdate(url, entry, (_, current) => current == known ? entry : current).Verdict;
    }
}
