using Microsoft.Extensions.Logging;

namespace ApiPlatform.Grains;

/// <summary>
/// The silos that keep something of a grain in memory (grain observers registered when the grain answered them),
/// and the one way to make them forget it: <see cref="ForgetEverywhereAsync"/>, awaited before a change answers, so
/// the very next request on any silo asks the grain again. Kept in the activation's memory only: when the activation
/// goes away its grain calls <see cref="ForgetEverywhereAsync"/> from <c>OnDeactivateAsync</c>, so a new activation
/// starts with none. Used by API keys (<c>ApiKeyCache</c>) and accounts (<c>AccountCache</c>).
/// </summary>
public sealed class Holders<T>(Func<T, string, Task> forget) where T : class, IGrainObserver
{
    /// <summary>How long a change waits for one holder to confirm; a silo that does not answer is gone.</summary>
    public static readonly TimeSpan ForgetTimeout = TimeSpan.FromSeconds(5);

    private readonly HashSet<T> _holders = [];

    public int Count => _holders.Count;

    public void Add(T? holder)
    {
        if (holder is not null)
        {
            _holders.Add(holder);
        }
    }

    /// <summary>
    /// <see cref="ForgetEverywhereAsync"/> for an activation going away. When it goes because its silo stops, the holders
    /// of this process are left out (see <see cref="LocalHolders"/>).
    /// </summary>
    public Task ForgetOnDeactivationAsync(string id, DeactivationReason reason, LocalHolders local, ILogger logger)
    {
        if (reason.ReasonCode == DeactivationReasonCode.ShuttingDown)
        {
            _holders.RemoveWhere(local.Contains);
        }

        return ForgetEverywhereAsync(id, logger);
    }

    /// <summary>Tells every holder to forget <paramref name="id"/> and waits for them (each for at most <see cref="ForgetTimeout"/>).</summary>
    public async Task ForgetEverywhereAsync(string id, ILogger logger)
    {
        if (_holders.Count == 0)
        {
            return;
        }

        var holders = _holders.ToArray();
        _holders.Clear();
        await Task.WhenAll(holders.Select(async holder =>
        {
            try
            {
                await forget(holder, id).WaitAsync(ForgetTimeout);
            }
            catch (Exception e)
            {
                // A holder that cannot be reached is a silo that stopped, or one cut off: its memory also ends with
                // its own age limit.
                logger.LogWarning(e, "{Id}: a holder did not confirm forgetting it.", id);
            }
        }));
    }
}
