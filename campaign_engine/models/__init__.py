"""Typed ORM rows, one module per aggregate; importing this registers every table."""

from campaign_engine.models.accounts import ROLES, SCOPES, ApiKey, User
from campaign_engine.models.campaigns import (
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignRun,
    CampaignSegment,
    CampaignVariant,
)
from campaign_engine.models.catalog import Product
from campaign_engine.models.contacts import (
    CHANNELS,
    CONSENT_STATES,
    Consent,
    ConsentEvent,
    Contact,
    Suppression,
)
from campaign_engine.models.deliveries import Delivery, MessageTemplate, PolicyDecision, PolicyLock
from campaign_engine.models.events import Event
from campaign_engine.models.jobs import JobRun
from campaign_engine.models.journeys import (
    Journey,
    JourneyEnrollment,
    JourneyStep,
    JourneyVersion,
    JourneyWebhookCall,
)
from campaign_engine.models.orders import Order, OrderLine
from campaign_engine.models.recommend import AssociationRule, RuleSet, RuleSetItem
from campaign_engine.models.segments import Segment, TargetList, TargetListMember
from campaign_engine.models.tracking import (
    ATTRIBUTION_MODELS,
    EVENT_KINDS,
    OrderAttribution,
    TrackingCursor,
    TrackingDaily,
    TrackingEvent,
)
from campaign_engine.models.traits import ContactTraits
from campaign_engine.models.uplift import (
    UpliftModel,
    UpliftModelVersion,
    UpliftScore,
    UpliftScoringRun,
)

__all__ = [
    "ATTRIBUTION_MODELS",
    "CHANNELS",
    "CONSENT_STATES",
    "EVENT_KINDS",
    "ROLES",
    "SCOPES",
    "ApiKey",
    "AssociationRule",
    "Campaign",
    "CampaignMember",
    "CampaignMessage",
    "CampaignRun",
    "CampaignSegment",
    "CampaignVariant",
    "Consent",
    "ConsentEvent",
    "Contact",
    "ContactTraits",
    "Delivery",
    "Event",
    "JobRun",
    "Journey",
    "JourneyEnrollment",
    "JourneyStep",
    "JourneyVersion",
    "JourneyWebhookCall",
    "MessageTemplate",
    "Order",
    "OrderAttribution",
    "OrderLine",
    "PolicyDecision",
    "PolicyLock",
    "Product",
    "RuleSet",
    "RuleSetItem",
    "Segment",
    "Suppression",
    "TargetList",
    "TargetListMember",
    "TrackingCursor",
    "TrackingDaily",
    "TrackingEvent",
    "UpliftModel",
    "UpliftModelVersion",
    "UpliftScore",
    "UpliftScoringRun",
    "User",
]
