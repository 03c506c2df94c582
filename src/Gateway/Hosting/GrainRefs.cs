using System.Collections.Concurrent;
using Orleans.Metadata;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// Grain references for the per-request path. Orleans' <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> works out the
/// interface's grain type on every call (custom attributes read by reflection, the type name formatted), a visible
/// share of the silo's CPU per create in the perf profile (bench/COMPARE.md). This resolves each interface once and then builds
/// references from the cached ids, which is what <c>GetGrain</c> ends with anyway.
/// </summary>
/// <remarks>
/// An interface whose implementation is not known yet (a gateway-only client before it has the cluster's manifest)
/// is not cached: that call goes through <c>GetGrain</c>, and a later one resolves it for good.
/// </remarks>
public sealed class GrainRefs(
    IGrainFactory grains,
    GrainInterfaceTypeResolver interfaces,
    GrainInterfaceTypeToGrainTypeResolver implementations)
{
    private readonly ConcurrentDictionary<Type, (GrainInterfaceType Interface, GrainType Grain)> _types = new();

    public T Get<T>(string key) where T : IGrainWithStringKey =>
        TryResolve(typeof(T), out var types)
            ? (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface)
            : grains.GetGrain<T>(key);

    public T Get<T>(long key) where T : IGrainWithIntegerKey =>
        TryResolve(typeof(T), out var types)
            ? (T)grains.GetGrain(GrainId.Create(types.Grain, GrainIdKeyExtensions.CreateIntegerKey(key)), types.Interface)
            : grains.GetGrain<T>(key);

    private bool TryResolve(Type type, out (GrainInterfaceType Interface, GrainType Grain) types)
    {
        if (_types.TryGetValue(type, out types))
        {
            return true;
        }

        var interfaceType = interfaces.GetGrainInterfaceType(type);
        if (!implementations.TryGetGrainType(interfaceType, out var grainType))
        {
            return false;
        }

        types = (interfaceType, grainType);
        _types.TryAdd(type, types);
        return true;
    }
}
