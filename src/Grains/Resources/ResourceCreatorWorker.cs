using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Webhooks;
using Orleans.Concurrency;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceCreatorWorker"/>
/// <remarks>
/// A resource has one writer from the moment it exists: its <see cref="ResourceGrain"/>, which loads the row on first
/// use. Before that there is nothing to guard. The insert itself decides between "created", "already exists" and "cap
/// reached" (the id's primary key and the owner's advisory lock), and a resource grain never keeps "not found" in
/// memory, so no activation can hold an outdated answer for an id created here. Reentrant like the query worker:
/// creates are I/O, and on PostgreSQL the overlapping ones share a group commit.
/// </remarks>
[StatelessWorker]
[Reentrant]
public sealed class ResourceCreatorWorker(ResourceStore store, ResourceWritePolicy policy, ApiClock clock) : Grain, IResourceCreatorWorker
{
    public async Task<ResourceWriteOutcome> CreateAsync(string id, ResourceDraft draft, long maxResources, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsValid(id, Ids.Resource))
        {
            throw new ArgumentException($"'{id}' is not a resource id.", nameof(id));
        }

        var now = DbTime.Truncate(clock.UtcNow);
        var row = new ResourceView(id, draft.OwnerId, draft.Name, draft.Description, draft.Type, draft.Status, draft.Metadata, now, now, 1);
        var typeGrain = GrainFactory.GetGrain<IResourceTypeGrain>(ResourceTypeRules.Key(draft.OwnerId, draft.Type));
        for (var attempt = 0; ; attempt++)
        {
            // The type's rules; after a "type changed" answer, as its row now has them.
            var (refusal, guard) = policy.Check(row, attempt == 0 ? await typeGrain.GetAsync() : await typeGrain.ReloadAsync());
            if (refusal is not null)
            {
                return refusal;
            }

            switch (await store.InsertAsync(row, maxResources, EventBodies.ForResource(WebhookEventTypes.ResourceCreated, row, now), guard, cancellationToken))
            {
                case InsertOutcome.Overloaded:
                    return ResourceWriteOutcome.Of(ResourceWriteStatus.Overloaded);
                case InsertOutcome.CapReached:
                    return ResourceWriteOutcome.Of(ResourceWriteStatus.PlanLimitReached);
                case InsertOutcome.AlreadyExists:
                    var existing = await store.LoadAsync(id);
                    return new ResourceWriteOutcome(ResourceWriteStatus.AlreadyExists, existing?.OwnerId == draft.OwnerId ? existing : null);
                case InsertOutcome.TypeChanged when attempt < 3:
                    continue;
                case InsertOutcome.TypeChanged:
                    throw new InvalidOperationException($"The type '{draft.Type}' kept changing while resource {id} was created.");
                default:
                    return new ResourceWriteOutcome(ResourceWriteStatus.Done, row);
            }
        }
    }
}
