namespace ApiPlatform.Grains.Resources;

/// <summary>
/// One resource type of one owner (key: <see cref="ResourceTypeRules.Key"/>). Holds the declaration in memory, also
/// its absence, so every resource write can ask for the rules of its type without a database round trip; it is the
/// only writer of its row, so what it holds is current. Resource writes still check the type's version in their own
/// transaction, which settles a write racing a change of its type.
/// </summary>
[Alias("IResourceTypeGrain")]
public interface IResourceTypeGrain : IGrainWithStringKey
{
    /// <summary>The type, or null when the owner has not declared it.</summary>
    [Alias("GetAsync")]
    Task<ResourceTypeView?> GetAsync();

    /// <summary>The type as stored now: for a writer whose transaction found a newer version than this grain held.</summary>
    [Alias("ReloadAsync")]
    Task<ResourceTypeView?> ReloadAsync();

    /// <summary>Declares the type unless it exists or the owner holds <paramref name="maxTypes"/> types already.</summary>
    [Alias("CreateAsync")]
    Task<ResourceTypeOutcome> CreateAsync(ResourceTypeDraft draft, long maxTypes);

    /// <summary>Changes the type. Schema and size changes apply to later writes; index changes re-index its resources.</summary>
    [Alias("UpdateAsync")]
    Task<ResourceTypeOutcome> UpdateAsync(ResourceTypePatch patch);

    /// <summary>Deletes the type; <see cref="ResourceTypeStatus.InUse"/> while any resource has it.</summary>
    [Alias("DeleteAsync")]
    Task<ResourceTypeOutcome> DeleteAsync();
}
