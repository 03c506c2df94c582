using System.Collections.Concurrent;
using ApiPlatform.Grains;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// A silo's memory of answers from grains that make every holder forget an answer before it stops being true (grain
/// observers, see <c>Holders&lt;T&gt;</c> in the grains). An entry is used only while all of these hold:
/// <list type="bullet">
/// <item>its grain has not told this silo to forget it (a change does so, and waits for it, before it answers, and so
/// does the grain's deactivation);</item>
/// <item>it is younger than <see cref="MaxAge"/>: the bound on a stale answer if the grain was lost with its silo (so
/// it could tell no one) and the fact changed within that time.</item>
/// </list>
/// <see cref="Stamp"/> guards the race between an answer on its way and a forget that overtook it.
/// </summary>
public abstract class ForgettingCache<TEntry>(ApiClock clock) where TEntry : class
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);

    /// <summary>Entries kept at most; past it the cache starts again empty (this only bounds memory).</summary>
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, (TEntry Entry, DateTimeOffset FreshUntil)> _entries = new(StringComparer.Ordinal);
    private long _forgets;

    protected ApiClock Clock { get; } = clock;

    /// <summary>
    /// Marks the start of a question to a grain: <see cref="Put"/> keeps its answer only if nothing was forgotten
    /// meanwhile (the answer may predate a change whose notice has already come and gone).
    /// </summary>
    public long Stamp => Interlocked.Read(ref _forgets);

    protected bool TryGetFresh(string id, out TEntry entry)
    {
        if (_entries.TryGetValue(id, out var kept) && Clock.UtcNow < kept.FreshUntil)
        {
            entry = kept.Entry;
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>
    /// An entry past <see cref="MaxAge"/> by at most <paramref name="staleAge"/>, for when its grain cannot be reached:
    /// it was never forgotten (a forget removes it), so no change of its grain has been seen since it was confirmed.
    /// </summary>
    protected bool TryGetStale(string id, TimeSpan staleAge, out TEntry entry)
    {
        if (_entries.TryGetValue(id, out var kept) && Clock.UtcNow < kept.FreshUntil + staleAge)
        {
            entry = kept.Entry;
            return true;
        }

        entry = null!;
        return false;
    }

    protected void Put(string id, TEntry entry, long stamp)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[id] = (entry, Clock.UtcNow + MaxAge);
        if (Stamp != stamp)
        {
            // A forget arrived while this answer was on its way: it may be about this id, so do not keep it.
            _entries.TryRemove(id, out _);
        }
    }

    protected void Forget(string id)
    {
        Interlocked.Increment(ref _forgets);
        _entries.TryRemove(id, out _);
    }
}
