using System.Collections.Concurrent;

namespace ApiPlatform.Grains;

/// <summary>
/// The holders this process itself hands to grains: the references of its caches (<c>ApiKeyCache</c>,
/// <c>AccountCache</c>), registered when they are made. An activation that goes away because its silo stops does not
/// ask these to forget (<c>Holders.ForgetOnDeactivationAsync</c> in the grains): their memory ends with the process, and the
/// silo's client, which would deliver the call, has stopped first, so each call only failed after placement retries
/// and logged a warning, thousands of them when a busy silo stopped. Holders on other silos are still told.
/// </summary>
public sealed class LocalHolders
{
    private readonly ConcurrentDictionary<GrainId, bool> _ids = new();

    /// <summary>The reference grains address <paramref name="holder"/> by, known from now on as one of this process's.</summary>
    public T Create<T>(IGrainFactory factory, T holder) where T : IGrainObserver
    {
        var reference = factory.CreateObjectReference<T>(holder);
        _ids.TryAdd(reference.GetGrainId(), true);
        return reference;
    }

    public bool Contains(IAddressable holder) => _ids.ContainsKey(holder.GetGrainId());
}
