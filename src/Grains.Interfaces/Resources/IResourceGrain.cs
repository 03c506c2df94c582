namespace ApiPlatform.Grains.Resources;

/// <summary>
/// One resource (key: resource id), from its first use after creation on. The grain loads the row once and keeps the
/// document in memory, so a read is served without a database round trip, and writes the document with its query
/// columns in one statement before acknowledging, so the next list call on any silo sees the change. Every method
/// takes the caller's owner: another tenant's resource answers exactly as a missing one.
/// </summary>
[Alias("IResourceGrain")]
public interface IResourceGrain : IGrainWithStringKey
{
    /// <summary>The resource, or null when it does not exist for this owner.</summary>
    [Alias("GetAsync")]
    Task<ResourceView?> GetAsync(string ownerId);

    /// <summary>
    /// Applies a patch (or, with <see cref="ResourcePatch.ReplaceMetadata"/>, a replacement) under the rules of the
    /// resulting type; only if the resource still meets <paramref name="precondition"/>.
    /// </summary>
    [Alias("UpdateAsync.v2")]
    Task<ResourceWriteOutcome> UpdateAsync(string ownerId, ResourcePatch patch, ResourcePrecondition precondition);

    /// <summary>Deletes the resource, only if it still meets <paramref name="precondition"/>.</summary>
    [Alias("DeleteAsync.v2")]
    Task<ResourceWriteOutcome> DeleteAsync(string ownerId, ResourcePrecondition precondition);
}

/// <summary>
/// Creates resources next to the data: a stateless worker on every silo (key 0). A new id has no state to guard, so
/// its row is written here (group commit on PostgreSQL) and the resource's <see cref="IResourceGrain"/> loads it on
/// first use. This spares each create the activation, placement and directory entry of a grain that, for most
/// creates, is never asked anything.
/// </summary>
[Alias("IResourceCreatorGrain")]
public interface IResourceCreatorWorker : IGrainWithIntegerKey
{
    /// <summary>
    /// Creates resource <paramref name="id"/> unless the owner already holds <paramref name="maxResources"/>
    /// resources. An id that exists answers <see cref="ResourceWriteStatus.AlreadyExists"/>, with the resource when the
    /// same owner holds it. <see cref="ResourceWriteStatus.Overloaded"/> when this silo's queue of creates is full.
    /// A create cancelled (its caller gone or timed out) while it still waits in the queue is never written.
    /// </summary>
    [Alias("CreateAsync")]
    Task<ResourceWriteOutcome> CreateAsync(string id, ResourceDraft draft, long maxResources, CancellationToken cancellationToken = default);
}

/// <summary>Runs list queries next to the data: a stateless worker on every silo, so a gateway needs no database.</summary>
[Alias("IResourceQueryGrain")]
public interface IResourceQueryWorker : IGrainWithIntegerKey
{
    [Alias("QueryAsync")]
    Task<ResourcePage> QueryAsync(ResourceQuery query);

    /// <summary>
    /// A list query that may filter and sort on indexed metadata fields: those are resolved against the type named by
    /// the query's type filter, and a field that cannot be served is answered, not thrown.
    /// </summary>
    [Alias("ListAsync")]
    Task<ResourceListOutcome> ListAsync(ResourceQuery query);

    /// <summary>The owner's declared types, by name.</summary>
    [Alias("ListTypesAsync")]
    Task<ResourceTypeList> ListTypesAsync(string ownerId, int offset, int limit);

    /// <summary>How many resources the owner holds.</summary>
    [Alias("CountAsync")]
    Task<long> CountAsync(string ownerId);
}
