using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceGrain"/>
/// <remarks>
/// State lives in the <c>resources</c> row rather than in Orleans' grain storage: the row is both the document and
/// its query columns, so one statement stores a change and makes it visible to lists, and nothing can drift apart.
/// </remarks>
public sealed class ResourceGrain(ResourceStore store, ApiClock clock) : Grain, IResourceGrain
{
    private ResourceView? _resource;

    /// <summary>
    /// The resource, loaded on first use. "Not found" is never kept: the id's row may be created at any time (by the
    /// creator worker, which needs no activation of this grain), so a missing row is looked up again on every call,
    /// and the activation is dropped once idle.
    /// </summary>
    private async Task<ResourceView?> LoadedAsync()
    {
        if (_resource is null)
        {
            _resource = await store.LoadAsync(this.GetPrimaryKeyString());
            if (_resource is null)
            {
                DeactivateOnIdle();
            }
        }

        return _resource;
    }

    public async Task<ResourceView?> GetAsync(string ownerId)
    {
        await LoadedAsync();
        return Visible(ownerId);
    }

    public async Task<ResourceWriteResult> UpdateAsync(string ownerId, ResourcePatch patch, long? expectedVersion)
    {
        await LoadedAsync();
        if (Visible(ownerId) is not { } current)
        {
            return ResourceWriteResult.Of(ResourceWriteStatus.NotFound);
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return new ResourceWriteResult(ResourceWriteStatus.PreconditionFailed, current);
        }

        var changed = current with
        {
            Name = patch.Name ?? current.Name,
            Description = patch.ClearDescription ? null : patch.Description ?? current.Description,
            Type = patch.Type ?? current.Type,
            Status = patch.Status ?? current.Status,
            Metadata = patch.MetadataPatch is { } mergePatch ? Merged(current.Metadata, mergePatch) : current.Metadata,
        };
        if (changed == current)
        {
            // Nothing to change: no write, no new version, so a repeated PATCH is idempotent.
            return new ResourceWriteResult(ResourceWriteStatus.Done, current);
        }

        var next = changed with { UpdatedAt = ResourceStore.Truncate(clock.UtcNow), Version = current.Version + 1 };
        await WriteAsync(() => store.UpdateAsync(next, current.Version, EventBodies.ForResource(WebhookEventTypes.ResourceUpdated, next, next.UpdatedAt)));
        _resource = next;
        return new ResourceWriteResult(ResourceWriteStatus.Done, next);
    }

    public async Task<ResourceWriteResult> DeleteAsync(string ownerId, long? expectedVersion)
    {
        await LoadedAsync();
        if (Visible(ownerId) is not { } current)
        {
            return ResourceWriteResult.Of(ResourceWriteStatus.NotFound);
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return new ResourceWriteResult(ResourceWriteStatus.PreconditionFailed, current);
        }

        await WriteAsync(() => store.DeleteAsync(current.Id, current.Version,
            EventBodies.ForResource(WebhookEventTypes.ResourceDeleted, current, ResourceStore.Truncate(clock.UtcNow))));
        _resource = null;
        DeactivateOnIdle();
        return new ResourceWriteResult(ResourceWriteStatus.Done, current);
    }

    /// <summary>The merged metadata; the current text itself when the patch changes no value (whitespace aside).</summary>
    private static string Merged(string current, string patch)
    {
        var merged = JsonMergePatch.ApplyToObject(current, patch);
        return System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(current), System.Text.Json.Nodes.JsonNode.Parse(merged))
            ? current
            : merged;
    }

    private ResourceView? Visible(string ownerId) => _resource?.OwnerId == ownerId ? _resource : null;

    /// <summary>
    /// A versioned write that matched no row means the database moved under this activation (a duplicate activation
    /// during a cluster split). Fail the call and drop the activation so the next one reloads the truth.
    /// </summary>
    private async Task WriteAsync(Func<Task<bool>> write)
    {
        if (!await write())
        {
            DeactivateOnIdle();
            throw new InvalidOperationException($"Resource {this.GetPrimaryKeyString()} changed in storage outside this activation.");
        }
    }
}
