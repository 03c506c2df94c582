using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Organizations;

/// <summary>
/// Creating an organization: a workflow over the slug's reservation and the new organization's grain. The slug is
/// claimed first (concurrent creates of one slug: exactly one wins), the organization is created within the creator's
/// cap of owned organizations (counted and inserted in one transaction), and only then is the claim confirmed; a
/// refused create frees the slug. A create that crashed between the steps leaves a pending claim that a later claimant
/// takes over after two minutes; a retry under the same Idempotency-Key derives the same id and finishes it.
/// </summary>
public sealed class OrganizationService(GrainRefs grains, AccountCache accounts, IOptions<PlanOptions> plans)
{
    public async Task<OrganizationView> CreateAsync(string id, string userId, string name, string slug)
    {
        var userPlan = (await accounts.GetAsync(userId)).Plan;
        var cap = plans.Value.LimitsOf(userPlan).MaxOrganizations;
        var reservation = grains.Get<IUniqueIndexGrain>(UniqueKeys.Slug(slug));
        if (!await reservation.TryClaimAsync(id))
        {
            throw ApiException.AlreadyExists("slug", "An organization with this slug already exists.");
        }

        var outcome = await grains.Get<IOrganizationGrain>(id).CreateAsync(name, slug, plans.Value.DefaultPlan, userId, cap);
        if (outcome.Result == OrgResult.PlanLimitReached)
        {
            await reservation.ReleaseAsync(id);
            throw ApiException.PlanLimit($"The '{userPlan}' plan allows owning {cap} organizations. Delete one, hand one over, or upgrade.");
        }

        await reservation.ConfirmAsync(id);
        return outcome.Organization!;
    }
}
